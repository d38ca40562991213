{#-
    How the served recommendations did: per day, model, rank and shopper segment, the products
    shown (impressions), the explicit feedback (clicks, carts, purchases sent to
    POST /v1/feedback), the carts and purchases of the shown product by the same shopper in the
    event logs within var feedback_attribution_days, click-through and conversion.
    A conversion is a shown product bought afterwards, told by feedback or seen in the logs.
    Rows with fewer than var feedback_min_impressions impressions are flagged few_impressions;
    with no impression logged at all, one row says so (status no_impressions, WARN).
-#}

with outcomes as (

    select * from {{ ref('int_recommendation_outcomes') }}

),

segments as (

    select user_id, segment_name from {{ ref('customer_segments') }}

),

classified as (

    select
        outcomes.*,
        case
            when outcomes.user_id is null then 'Anonymous'
            else coalesce(segments.segment_name, 'Not segmented')
        end as segment
    from outcomes
    left join segments on segments.user_id = outcomes.user_id

),

grouped as (

    select
        served_date as day,
        model_name as model,
        rank,
        segment,
        count(*) as impressions,
        count(*) filter (where is_clicked) as clicks,
        count(*) filter (where is_carted) as carts,
        count(*) filter (where is_purchased) as purchases,
        count(*) filter (where is_carted_in_logs) as carts_in_logs,
        count(*) filter (where is_purchased_in_logs) as purchases_in_logs,
        count(*) filter (where is_purchased or is_purchased_in_logs) as conversions
    from classified
    group by served_date, model_name, rank, segment

),

measured as (

    select
        day,
        model,
        rank,
        segment,
        impressions,
        clicks,
        carts,
        purchases,
        carts_in_logs,
        purchases_in_logs,
        conversions,
        clicks / impressions as click_through_rate,
        conversions / impressions as conversion_rate,
        case
            when impressions < {{ var('feedback_min_impressions') }} then 'few_impressions'
            else 'ok'
        end as status,
        case
            when impressions < {{ var('feedback_min_impressions') }}
                then 'only ' || impressions || ' impressions (fewer than '
                    || {{ var('feedback_min_impressions') }} || '): the rates are noise'
            else impressions || ' impressions, ' || clicks || ' clicks, '
                || conversions || ' conversions'
        end as message
    from grouped

),

no_impressions as (

    select
        cast(null as date) as day,
        cast(null as varchar) as model,
        cast(null as integer) as rank,
        cast(null as varchar) as segment,
        cast(0 as bigint) as impressions,
        cast(0 as bigint) as clicks,
        cast(0 as bigint) as carts,
        cast(0 as bigint) as purchases,
        cast(0 as bigint) as carts_in_logs,
        cast(0 as bigint) as purchases_in_logs,
        cast(0 as bigint) as conversions,
        cast(null as double) as click_through_rate,
        cast(null as double) as conversion_rate,
        'no_impressions' as status,
        'no impression logged in {{ feedback_log_dir() }}/impressions: serve the API '
            || '(make serve) or replay the demo (make replay-feedback), then build again'
            as message
    where not exists (select 1 from measured)

),

final as (

    select * from measured
    union all
    select * from no_impressions

)

select * from final
