-- The API's logs reconcile (recommendation_log_reconciliation): the lines it counts are the rows
-- the feedback loop keeps (the answers of stg_recommendation_impressions, the actions matched
-- to a shown product in int_recommendation_outcomes), and no outcome is negative (a line the
-- JSON reader yielded twice). Returns one row per breach.

with reconciliation as (

    select log_name, outcome, lines from {{ ref('recommendation_log_reconciliation') }}

),

kept as (

    select 'impressions' as log_name, count(*) as lines
    from {{ ref('stg_recommendation_impressions') }}
    union all
    select
        'feedback' as log_name,
        coalesce(sum(is_clicked::integer + is_carted::integer + is_purchased::integer), 0) as lines
    from {{ ref('int_recommendation_outcomes') }}

)

select
    reconciliation.log_name,
    'counted ' || reconciliation.lines || ' lines, the models keep ' || kept.lines as problem
from reconciliation
inner join kept on kept.log_name = reconciliation.log_name
where reconciliation.outcome = 'counted' and reconciliation.lines <> kept.lines
union all
select log_name, outcome || ' is negative: ' || lines as problem
from reconciliation
where lines < 0
