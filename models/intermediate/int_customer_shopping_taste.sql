{#-
    Who a visitor is, beside what they do: one row per visitor with a kept event by var
    as_of_date, with the share of their categorised views in each family of seed
    category_families, how loyal they are to one brand and how much of their attention goes to
    the in-house brand (var focus_brand). The taste features of the segmentation.
-#}
{%- set families = ['mobile', 'computers', 'tech_accessories', 'audio', 'tv_video', 'home', 'kids', 'fashion', 'sport_outdoor', 'diy_auto', 'other'] %}

with events as (

    select user_id, event_type, category_code, brand
    from {{ ref('stg_events') }}
    where event_date <= {{ as_of_date() }}

),

families as (

    select category_prefix, category_family from {{ ref('category_families') }}

),

viewed_categories as (

    select distinct category_code
    from events
    where event_type = 'view' and category_code is not null

),

category_family_of_code as (

    -- the longest matching prefix wins: computers.peripherals.mouse is a tech accessory,
    -- computers.notebook a computer
    select
        viewed_categories.category_code,
        coalesce(
            arg_max(families.category_family, length(families.category_prefix)),
            'other'
        ) as category_family
    from viewed_categories
    left join families
        on viewed_categories.category_code = families.category_prefix
        or starts_with(viewed_categories.category_code, families.category_prefix || '.')
    group by viewed_categories.category_code

),

views as (

    select
        events.user_id,
        events.brand,
        category_family_of_code.category_family
    from events
    left join category_family_of_code on events.category_code = category_family_of_code.category_code
    where events.event_type = 'view'

),

brand_views as (

    select user_id, brand, count(*) as view_count
    from views
    where brand is not null
    group by all

),

brand_loyalty as (

    select
        user_id,
        sum(view_count) as branded_view_count,
        -- the share of the branded views that went to the visitor's most viewed brand
        max(view_count) / sum(view_count) as brand_loyalty,
        coalesce(sum(view_count) filter (where brand = '{{ var("focus_brand") }}'), 0)
            / sum(view_count) as in_house_brand_share
    from brand_views
    group by user_id

),

family_shares as (

    select
        user_id,
        count(category_family) as categorised_view_count,
        {%- for family in families %}
        count(*) filter (where category_family = '{{ family }}') / nullif(count(category_family), 0) as family_share_{{ family }},
        {%- endfor %}
    from views
    group by user_id

),

event_counts as (

    select user_id, count(*) as event_count
    from events
    group by user_id

),

final as (

    select
        event_counts.user_id,
        event_counts.event_count,
        coalesce(family_shares.categorised_view_count, 0) as categorised_view_count,
        {%- for family in families %}
        family_shares.family_share_{{ family }},
        {%- endfor %}
        coalesce(brand_loyalty.branded_view_count, 0) as branded_view_count,
        brand_loyalty.brand_loyalty,
        brand_loyalty.in_house_brand_share
    from event_counts
    left join family_shares on event_counts.user_id = family_shares.user_id
    left join brand_loyalty on event_counts.user_id = brand_loyalty.user_id

)

select * from final
