{#-
    Audience size per campaign type x segment (campaign_audiences counted once, here, so the
    dashboard and BI show the same number), with the audience's mean purchase propensity.
    Every campaign type of the seed gets a row per segment, 0 when no customer qualifies.
-#}

with audiences as (

    select campaign_type, segment_name, user_id, purchase_probability
    from {{ ref('campaign_audiences') }}

),

campaign_types as (

    select campaign_type, campaign_name, message from {{ ref('campaign_types') }}

),

segments as (

    select distinct segment_name from {{ ref('segment_profiles') }}
    union
    select distinct segment_name from audiences

),

sizes as (

    select
        campaign_type,
        segment_name,
        count(*) as audience_size,
        avg(purchase_probability) as mean_purchase_probability
    from audiences
    group by all

),

final as (

    select
        campaign_types.campaign_type,
        campaign_types.campaign_name,
        campaign_types.message,
        segments.segment_name,
        coalesce(sizes.audience_size, 0) as audience_size,
        sizes.mean_purchase_probability
    from campaign_types
    cross join segments
    left join sizes
        on campaign_types.campaign_type = sizes.campaign_type
        and segments.segment_name is not distinct from sizes.segment_name

)

select * from final
