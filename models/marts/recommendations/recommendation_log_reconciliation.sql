{#-
    Every line of the API's two logs (impressions and feedback) accounted for: how many were
    counted in recommendation_performance, and why the others were not (a line cut short, an
    answer logged twice, feedback on a product the answer did not show, on an answer never
    logged, or on the answer of a shopper since erased). One row per log and outcome, zeros
    included, so that lines in the files = the sum of the rows; no personal data (counts).
    The staging models' outcomes come from the same macros (classified_impression_lines,
    classified_feedback_lines); whether a kept feedback line's answer showed its product is
    decided here as int_recommendation_outcomes decides it, and
    tests/singular/assert_recommendation_logs_reconcile.sql checks that the counted lines are
    the rows the feedback loop keeps.
-#}

-- classifies the lines the staging models keep, so it follows them in the lineage and in
-- `dbt build --select stg_recommendation_feedback+`:
-- depends_on: {{ ref('stg_recommendation_impressions') }}
-- depends_on: {{ ref('stg_recommendation_feedback') }}

with impression_lines as (

    {{ feedback_log_lines('impressions') }}

),

feedback_lines as (

    {{ feedback_log_lines('feedback') }}

),

impressions_classified as (

    {{ classified_impression_lines() }}

),

feedback_kept as (

    {{ classified_feedback_lines() }}

),

shown as (

    select request_id, product_ids
    from impressions_classified
    where outcome = 'counted'

),

erased_answers as (

    select distinct request_id
    from impressions_classified
    where outcome = 'erased_shopper'

),

-- a kept line counts when its answer showed its product (int_recommendation_outcomes)
feedback_classified as (

    select
        case
            when feedback_kept.outcome <> 'kept' then feedback_kept.outcome
            when list_contains(shown.product_ids, feedback_kept.product_id) then 'counted'
            when shown.request_id is not null then 'product_not_in_the_answer'
            when erased_answers.request_id is not null then 'answer_of_an_erased_shopper'
            else 'no_answer_logged'
        end as outcome
    from feedback_kept
    left join shown on feedback_kept.request_id = shown.request_id
    left join erased_answers on feedback_kept.request_id = erased_answers.request_id

),

counts as (

    select 'impressions' as log_name, outcome, count(*) as lines
    from impressions_classified
    group by outcome
    union all
    select 'feedback' as log_name, outcome, count(*) as lines
    from feedback_classified
    group by outcome
    -- lines the JSON reader skipped whole (none seen so far: a cut line is read as nulls)
    union all
    select 'impressions', 'unreadable_or_incomplete', impression_lines.lines - (select count(*) from impressions_classified)
    from impression_lines
    union all
    select 'feedback', 'unreadable_or_incomplete', feedback_lines.lines - (select count(*) from feedback_kept)
    from feedback_lines

),

outcomes (log_name, outcome, description) as (

    values
    ('impressions', 'counted', 'Answers counted in recommendation_performance.'),
    ('impressions', 'repeated', 'An answer whose request id was logged before (a file copied by hand): counted once.'),
    ('impressions', 'erased_shopper', 'The answer of a shopper on the erasure list: not read.'),
    ('impressions', 'unreadable_or_incomplete', 'A line cut short or without its request id or a readable time: not counted.'),
    ('feedback', 'counted', 'Feedback on a product the answer showed: counted in recommendation_performance.'),
    ('feedback', 'repeated', 'The same action on the same product of the same answer, sent again: counted once.'),
    ('feedback', 'product_not_in_the_answer', 'Feedback on a product the answer did not show: not counted.'),
    ('feedback', 'no_answer_logged', 'Feedback on a request id with no answer in the impression log (a lost or removed impression file): not counted.'),
    ('feedback', 'answer_of_an_erased_shopper', 'Feedback on the answer of a shopper on the erasure list: not counted (amazing gdpr erase removes it from the files).'),
    ('feedback', 'unreadable_or_incomplete', 'A line cut short, without its request id or product, or with an action other than click, cart or purchase: not counted.')

),

final as (

    select
        outcomes.log_name,
        outcomes.outcome,
        coalesce(sum(counts.lines), 0)::bigint as lines,
        outcomes.description
    from outcomes
    left join counts
        on counts.log_name = outcomes.log_name and counts.outcome = outcomes.outcome
    group by outcomes.log_name, outcomes.outcome, outcomes.description

)

select * from final
