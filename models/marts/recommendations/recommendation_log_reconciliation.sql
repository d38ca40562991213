{#-
    Every line of the API's two logs (impressions and feedback) accounted for: how many were
    counted in recommendation_performance, and why the others were not (a line cut short, an
    answer logged twice, feedback on a product the answer did not show, on an answer never
    logged, or on the answer of a shopper since erased). One row per log and outcome, zeros
    included, so that lines in the files = the sum of the rows; no personal data (counts).
    The outcomes are decided as the staging models decide them (the same filters, in the same
    order); tests/singular/assert_recommendation_logs_reconcile.sql checks that the counted
    lines are the rows those models keep.
-#}

-- reads the same files as the staging models (macro read_feedback_log), so it follows them in
-- the lineage and in `dbt build --select stg_recommendation_feedback+`:
-- depends_on: {{ ref('stg_recommendation_impressions') }}
-- depends_on: {{ ref('stg_recommendation_feedback') }}

with impression_lines as (

    {{ feedback_log_lines('impressions') }}

),

feedback_lines as (

    {{ feedback_log_lines('feedback') }}

),

impressions_read as (

    {{ read_feedback_log('impressions') }}

),

feedback_read as (

    {{ read_feedback_log('feedback') }}

),

erased as (

    select distinct user_id from {{ ref('gdpr_erasure_requests') }}

),

-- stg_recommendation_impressions: complete lines of shoppers not erased, one per request id
impressions_checked as (

    select
        request_id,
        served_at,
        items,
        case
            when request_id is null or served_at is null then 'unreadable_or_incomplete'
            when user_id in (select erased.user_id from erased) then 'erased_shopper'
        end as rejected
    from impressions_read

),

impressions_classified as (

    select
        request_id,
        items,
        coalesce(
            rejected,
            case
                when row_number() over (
                    partition by rejected is null, request_id order by served_at
                ) > 1 then 'repeated'
                else 'counted'
            end
        ) as outcome
    from impressions_checked

),

shown as (

    select request_id, coalesce(items, []) as product_ids
    from impressions_classified
    where outcome = 'counted'

),

erased_answers as (

    select distinct request_id
    from impressions_classified
    where outcome = 'erased_shopper'

),

-- stg_recommendation_feedback: complete lines, one per request id x product x action; then
-- int_recommendation_outcomes counts those whose product the answer showed
feedback_checked as (

    select
        request_id,
        product_id,
        lower(action) as action,
        received_at,
        case
            when request_id is null
                or product_id is null
                or lower(action) is null
                or lower(action) not in ('click', 'cart', 'purchase')
                then 'unreadable_or_incomplete'
        end as rejected
    from feedback_read

),

feedback_classified as (

    select
        case
            when feedback_checked.rejected is not null then feedback_checked.rejected
            when row_number() over (
                partition by
                    feedback_checked.rejected is null,
                    feedback_checked.request_id,
                    feedback_checked.product_id,
                    feedback_checked.action
                order by feedback_checked.received_at
            ) > 1 then 'repeated'
            when list_contains(shown.product_ids, feedback_checked.product_id) then 'counted'
            when shown.request_id is not null then 'product_not_in_the_answer'
            when erased_answers.request_id is not null then 'answer_of_an_erased_shopper'
            else 'no_answer_logged'
        end as outcome
    from feedback_checked
    left join shown on shown.request_id = feedback_checked.request_id
    left join erased_answers on erased_answers.request_id = feedback_checked.request_id

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
    select 'impressions', 'unreadable_or_incomplete', impression_lines.lines - (select count(*) from impressions_read)
    from impression_lines
    union all
    select 'feedback', 'unreadable_or_incomplete', feedback_lines.lines - (select count(*) from feedback_read)
    from feedback_lines

),

outcomes (log_name, outcome, description) as (

    values
    ('impressions', 'counted', 'Answers counted in recommendation_performance.'),
    ('impressions', 'repeated', 'An answer whose request id was logged before (a file copied by hand): counted once.'),
    ('impressions', 'erased_shopper', 'The answer of a shopper on the erasure list: not read.'),
    ('impressions', 'unreadable_or_incomplete', 'A line cut short or without its request id or time: not counted.'),
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
