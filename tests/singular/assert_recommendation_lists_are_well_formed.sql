-- Every customer's recommendation list is well formed: ranks contiguous from 1, at most
-- recommender_top_n products, one model per user is personalised or not (never both), and an
-- opt-out never gets a personalised row. Returns offending users.

with lists as (

    select
        recommendations.user_id,
        count(*) as product_count,
        max(rank) as max_rank,
        min(rank) as min_rank,
        count(distinct is_personalised) as personalisation_kinds,
        bool_or(is_personalised) as any_personalised,
        bool_or(coalesce(features.is_personalisation_opt_out, false)) as is_opt_out
    from {{ ref('recommendations') }} as recommendations
    left join {{ ref('customer_features') }} as features
        on recommendations.user_id = features.user_id
    group by recommendations.user_id

)

select *
from lists
where min_rank <> 1
    or max_rank <> product_count
    or product_count > {{ var('recommender_top_n') }}
    or personalisation_kinds <> 1
    or (is_opt_out and any_personalised)
