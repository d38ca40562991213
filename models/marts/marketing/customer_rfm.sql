{#-
    One row per customer with at least one order: recency, frequency and monetary value as of
    var as_of_date, 1-5 scores and the named RFM segment. The grid (r_score x fm_score ->
    segment) and the segment descriptions are seeds, so marketing can rename without SQL.
    Scores are quintiles of the percent rank: equal values always get equal scores, and the
    lowest value scores 1 even when most customers share it (most buy once).
-#}

with orders as (

    select user_id, ordered_at, basket_value
    from {{ ref('orders') }}
    where order_date <= {{ as_of_date() }}

),

customers as (

    select
        user_id,
        {{ as_of_date() }} - max(cast(ordered_at as date)) as recency_days,
        count(*) as frequency,
        sum(basket_value) as monetary
    from orders
    group by user_id

),

scored as (

    select
        *,
        -- 5 = best: most recent, most orders, most spent
        least(5, 1 + floor(5 * percent_rank() over (order by recency_days desc)))::integer as r_score,
        least(5, 1 + floor(5 * percent_rank() over (order by frequency)))::integer as f_score,
        least(5, 1 + floor(5 * percent_rank() over (order by monetary)))::integer as m_score
    from customers

),

grid as (

    select * from {{ ref('rfm_segments') }}

),

descriptions as (

    select * from {{ ref('rfm_segment_descriptions') }}

),

final as (

    select
        scored.user_id,
        {{ as_of_date() }} as as_of_date,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        round((scored.f_score + scored.m_score) / 2.0, 0)::integer as fm_score,
        scored.r_score::varchar || scored.f_score::varchar || scored.m_score::varchar as rfm_code,
        grid.rfm_segment,
        descriptions.description as rfm_segment_description,
        descriptions.suggested_action
    from scored
    left join grid
        on scored.r_score = grid.r_score
        and round((scored.f_score + scored.m_score) / 2.0, 0)::integer = grid.fm_score
    left join descriptions on grid.rfm_segment = descriptions.rfm_segment

)

select * from final
