{#-
    What an event that lacks a value is completed with: the value its product had at the event's
    time, never one seen later (point in time). One row per product and second at which a line
    lacks a category_code, a valid category_id, a brand or a valid price that the product already
    had at or before that second.

    The rule, the same for the four values: the product's most recent valid value at or before
    the event's time.
    - Price: the last valid price, not a median. Prices move (the demo generator moves category
      prices every 14 days, real shops reprice): the last price is what the product cost then,
      where a median of the earlier prices lags behind every change.
    - category_code, category_id, brand: nearly constant per product, so the most recent value
      and the most frequent one agree almost always; where they change (the December 2019
      category recode gave new category_ids) the most recent one is the one in force. A stray
      value on the last earlier event would be copied: rare, and the quarantine never depends on
      these three.
    - The same second counts as earlier. The logs have one-second resolution and no order within
      a second (the line order of a file is not a time order), so a cut at any instant keeps or
      drops a whole second: a value from the same second is known at that time. The value then
      depends only on the product and the second, not on the line order, so the table is keyed
      by (product_id, event_time). Several values in the latest second: the smallest wins.
    - Sources: every readable line of a valid product whose time lies in the valid window (vars
      min_valid_event_time, max_valid_event_time), lines quarantined for another reason
      included, as before. Lines without a valid time can be neither a source nor completed
      (they are quarantined as invalid_event_time).

    Cost (it must scale to 100M events): no sort of all events by product and time. One
    aggregation of the events by product and value combination (few per product) gives each
    product's values and when it first had them; a product with one value only (most of them for
    category and brand) knows it from then on. Only for products with several values that have
    an event to complete are the events aggregated by day, and only days with several values are
    looked at second by second: one ASOF join of the events to complete against these few rows
    (a day with one value as one row at its first line) gives the last value at or before each.
-#}

{%- set attributes = ['category_code', 'category_id', 'brand', 'price'] %}

with events as (

    select
        product_id,
        event_time,
        cast(event_time as date) as event_date,
        category_code as category_code_value,
        category_code is null as category_code_needed,
        if(category_id > 0, category_id, null) as category_id_value,
        category_id is null as category_id_needed,
        brand as brand_value,
        brand is null as brand_needed,
        if({{ price_defect('price', 'raw_price') }} is null, price, null) as price_value,
        {{ price_defect('price', 'raw_price') }} is not null as price_needed
    from {{ ref('base_events_parsed') }}
    where not is_gdpr_erased and not is_retention_dropped
        and product_id > 0
        and event_time >= timestamp '{{ var("min_valid_event_time") }}'
        and event_time < timestamp '{{ var("max_valid_event_time") }}'

),

-- One pass over the events: the product's distinct value combinations, each with the time it
-- was first seen. Everything else reads this much smaller table or a few of the events.
combinations as (

    select
        product_id,
        category_code_value,
        category_id_value,
        brand_value,
        price_value,
        min(event_time) as first_seen_at
    from events
    group by all

),

-- Per product and attribute: the smallest and largest value seen (equal: it only ever had one)
-- and when one was first seen.
product_values as (

    select
        product_id,
        {%- for attribute in attributes %}
        min({{ attribute }}_value) as {{ attribute }}_min,
        max({{ attribute }}_value) as {{ attribute }}_max,
        min(first_seen_at) filter (where {{ attribute }}_value is not null) as {{ attribute }}_first_seen_at{{ "," if not loop.last }}
        {%- endfor %}
    from combinations
    group by product_id

),

needing_events as (

    select product_id, event_time, {{ attributes | join('_needed, ') }}_needed
    from events
    where {{ attributes | join('_needed or ') }}_needed

),

-- The product-seconds to complete, and which values they lack that the product already had.
instants as (

    select
        needing_events.product_id,
        needing_events.event_time,
        {%- for attribute in attributes %}
        coalesce(bool_or(
            needing_events.{{ attribute }}_needed
            and needing_events.event_time >= product_values.{{ attribute }}_first_seen_at
        ), false) as {{ attribute }}_needed{{ "," if not loop.last }}
        {%- endfor %}
    from needing_events
    inner join product_values on needing_events.product_id = product_values.product_id
    where
        {%- for attribute in attributes %}
        {{ "or " if not loop.first }}(needing_events.{{ attribute }}_needed and needing_events.event_time >= product_values.{{ attribute }}_first_seen_at)
        {%- endfor %}
    group by needing_events.product_id, needing_events.event_time

),
{%- for attribute in attributes %}

-- {{ attribute }} of products that had several: what was known at each instant to complete
{{ attribute }}_to_find as (

    select
        instants.product_id,
        instants.event_time
    from instants
    inner join product_values on instants.product_id = product_values.product_id
    where instants.{{ attribute }}_needed
        and product_values.{{ attribute }}_min != product_values.{{ attribute }}_max

),

-- per day of these products: its values and when the first was seen
{{ attribute }}_days as (

    select
        product_id,
        event_date,
        min({{ attribute }}_value) as value_min,
        max({{ attribute }}_value) as value_max,
        min(event_time) as first_seen_at
    from events
    where {{ attribute }}_value is not null
        and product_id in (select {{ attribute }}_to_find.product_id from {{ attribute }}_to_find)
    group by product_id, event_date

),

-- days with several values, second by second (several values in one second: the smallest)
{{ attribute }}_seconds as (

    select
        events.product_id,
        events.event_time,
        min(events.{{ attribute }}_value) as value
    from events
    inner join {{ attribute }}_days as days
        on events.product_id = days.product_id
            and events.event_date = days.event_date
            and days.value_min != days.value_max
    where events.{{ attribute }}_value is not null
    group by events.product_id, events.event_time

),

-- When each value became known, enough to answer "the last value at or before t" exactly: a
-- day with one value is known from its first line on (every later line that day repeats it);
-- a day with several is known second by second.
{{ attribute }}_known as (

    select
        product_id,
        first_seen_at as known_at,
        value_min as value
    from {{ attribute }}_days
    where value_min = value_max

    union all

    select
        product_id,
        event_time as known_at,
        value
    from {{ attribute }}_seconds

),

{{ attribute }}_found as (

    select
        to_find.product_id,
        to_find.event_time,
        known.value
    from {{ attribute }}_to_find as to_find
    asof inner join {{ attribute }}_known as known
        on to_find.product_id = known.product_id
            and to_find.event_time >= known.known_at

),
{%- endfor %}

final as (

    select
        instants.product_id,
        instants.event_time,
        {%- for attribute in attributes %}
        case
            when not instants.{{ attribute }}_needed then null
            -- the product only ever had one value, and had it by then
            when product_values.{{ attribute }}_min = product_values.{{ attribute }}_max
                then product_values.{{ attribute }}_min
            else {{ attribute }}_found.value
        end as {{ attribute }}{{ "," if not loop.last }}
        {%- endfor %}
    from instants
    inner join product_values on instants.product_id = product_values.product_id
    {%- for attribute in attributes %}
    left join {{ attribute }}_found
        on instants.product_id = {{ attribute }}_found.product_id
            and instants.event_time = {{ attribute }}_found.event_time
    {%- endfor %}

)

select * from final
