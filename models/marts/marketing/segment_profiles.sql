{#-
    One row per customer segment, in marketing's words: how big it is, what its customers are
    like (RFM medians, conversion, price band, favourite families), what it is worth and what to
    do with it. Sizes count opted-out shoppers too; campaign_eligible_count leaves them out.
-#}

with segments as (

    select * from {{ ref('customer_segments') }}

),

features as (

    select * from {{ ref('customer_features') }}

),

rfm as (

    select user_id, recency_days, frequency, monetary from {{ ref('customer_rfm') }}

),

centroids as (

    select segment_name, suggested_action from {{ ref('segment_centroids') }}

),

rfm_actions as (

    select rfm_segment as segment_name, suggested_action from {{ ref('rfm_segment_descriptions') }}

),

members as (

    select
        segments.segment_id,
        segments.segment_name,
        segments.segmentation_method,
        segments.is_personalisation_opt_out,
        features.*  exclude (user_id, is_personalisation_opt_out),
        rfm.recency_days as rfm_recency_days,
        rfm.frequency as rfm_frequency,
        rfm.monetary as rfm_monetary
    from segments
    inner join features on segments.user_id = features.user_id
    left join rfm on segments.user_id = rfm.user_id

),

family_counts as (

    select segment_name, preferred_category_family, count(*) as member_count
    from members
    where preferred_category_family <> 'unknown'
    group by all

),

top_families as (

    select
        segment_name,
        string_agg(preferred_category_family, ', ' order by member_count desc, preferred_category_family)
            filter (where family_rank <= 3) as top_category_families
    from (
        select
            *,
            row_number() over (
                partition by segment_name order by member_count desc, preferred_category_family
            ) as family_rank
        from family_counts
    )
    group by segment_name

),

typical_price_bands as (

    select
        segment_name,
        first(price_band order by member_count desc, price_band) as typical_price_band
    from (
        select segment_name, price_band, count(*) as member_count
        from members
        group by all
    )
    group by segment_name

),

profiles as (

    select
        any_value(segment_id) as segment_id,
        segment_name,
        any_value(segmentation_method) as segmentation_method,
        count(*) as customer_count,
        count(*) filter (where not is_personalisation_opt_out) as campaign_eligible_count,
        avg(is_buyer::int) as buyer_share,
        median(recency_days) as median_recency_days,
        median(rfm_recency_days) as median_days_since_last_order,
        median(rfm_frequency) as median_order_count,
        median(rfm_monetary) as median_buyer_revenue,
        sum(session_count) as session_count,
        sum(order_count) as order_count,
        sum(order_count) / nullif(sum(session_count), 0) as conversion_rate,
        sum(revenue) as revenue,
        median(view_count) as median_view_count,
        {{ exact_avg('cart_abandonment_rate') }} as average_cart_abandonment_rate
    from members
    group by segment_name

),

final as (

    select
        profiles.segment_id,
        profiles.segment_name,
        profiles.segmentation_method,
        profiles.customer_count,
        profiles.customer_count / sum(profiles.customer_count) over () as customer_share,
        profiles.campaign_eligible_count,
        profiles.buyer_share,
        profiles.median_recency_days,
        profiles.median_days_since_last_order,
        profiles.median_order_count,
        profiles.median_buyer_revenue,
        profiles.conversion_rate,
        profiles.revenue,
        profiles.revenue / nullif(sum(profiles.revenue) over (), 0) as revenue_share,
        profiles.median_view_count,
        profiles.average_cart_abandonment_rate,
        typical_price_bands.typical_price_band,
        coalesce(top_families.top_category_families, 'none') as top_category_families,
        coalesce(centroids.suggested_action, rfm_actions.suggested_action,
            'Build a first relationship: welcome offer and bestsellers.') as suggested_action
    from profiles
    left join top_families on profiles.segment_name = top_families.segment_name
    left join typical_price_bands on profiles.segment_name = typical_price_bands.segment_name
    left join centroids on profiles.segment_name = centroids.segment_name
    left join rfm_actions on profiles.segment_name = rfm_actions.segment_name

)

select * from final
order by revenue desc, segment_name
