{#-
    The content of personalised emails: for each campaign type (seed campaign_types) and
    customer segment, the eligible customers with their top 3 recommended products and reasons.
    Eligible = matches the campaign's audience rule below, has personalised recommendations, and
    has not opted out of personalisation (erased users are in no input). One row per campaign
    type x customer: a customer may be in several campaigns; marketing picks the order.
-#}

with customers as (

    select
        features.user_id,
        features.carts_last_30_days,
        features.days_since_last_order,
        features.orders_last_90_days,
        features.views_last_30_days,
        features.is_buyer,
        features.is_personalisation_opt_out,
        segments.segment_name
    from {{ ref('customer_features') }} as features
    left join {{ ref('customer_segments') }} as segments on features.user_id = segments.user_id

),

eligibility as (

    select user_id, 'cart_recovery' as campaign_type from customers
    where carts_last_30_days > 0 and coalesce(days_since_last_order, 999999) > 30
    union all
    select user_id, 'cross_sell' from customers
    where orders_last_90_days > 0
    union all
    select user_id, 'win_back' from customers
    where is_buyer and days_since_last_order > 90
    union all
    select user_id, 'first_purchase' from customers
    where not is_buyer and views_last_30_days > 0

),

top_products as (

    select
        user_id,
        max(product_id) filter (where rank = 1) as product_1_id,
        max(reason) filter (where rank = 1) as product_1_reason,
        max(product_id) filter (where rank = 2) as product_2_id,
        max(reason) filter (where rank = 2) as product_2_reason,
        max(product_id) filter (where rank = 3) as product_3_id,
        max(reason) filter (where rank = 3) as product_3_reason,
        max(model) filter (where rank = 1) as model
    from {{ ref('recommendations') }}
    where is_personalised and rank <= 3
    group by user_id

),

final as (

    select
        eligibility.campaign_type,
        campaign_types.campaign_name,
        coalesce(customers.segment_name, 'Not segmented') as segment_name,
        eligibility.user_id,
        top_products.product_1_id,
        top_products.product_1_reason,
        top_products.product_2_id,
        top_products.product_2_reason,
        top_products.product_3_id,
        top_products.product_3_reason,
        top_products.model as recommendation_model,
        propensity.purchase_probability,
        propensity.propensity_decile
    from eligibility
    inner join customers on eligibility.user_id = customers.user_id
    inner join top_products on eligibility.user_id = top_products.user_id
    inner join {{ ref('campaign_types') }} as campaign_types
        on eligibility.campaign_type = campaign_types.campaign_type
    left join {{ ref('customer_propensity') }} as propensity
        on eligibility.user_id = propensity.user_id
    where not customers.is_personalisation_opt_out

)

select * from final
