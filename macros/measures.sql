{#-
    The business measures over events, written once (issue 10): every model that counts the
    funnel or sums revenue from stg_events calls these macros, so "a view", "an order" and
    "revenue" mean the same everywhere. assert_sales_marts_agree recomputes the totals on its
    own and stays as the guard that the marts agree.

    `condition` (optional) is further SQL that the event must meet, e.g.
    "event_date > last_date - 28" or "brand = 'amazingbasics'".
-#}

{#- The events of one type: 'view', 'cart', 'remove_from_cart' or 'purchase'. -#}
{% macro event_count(event_type, condition=none) -%}
    count(*) filter (where event_type = '{{ event_type }}'{% if condition %} and {{ condition }}{% endif %})
{%- endmacro %}

{#- Distinct values of `column` among the events of one type: orders are the distinct
    sessions with a purchase, buyers the distinct users with one. -#}
{% macro distinct_event_count(column, event_type, condition=none) -%}
    count(distinct {{ column }}) filter (where event_type = '{{ event_type }}'{% if condition %} and {{ condition }}{% endif %})
{%- endmacro %}

{#- Revenue: the summed price of the purchase events, 0 when there is none. -#}
{% macro purchase_revenue(condition=none) -%}
    coalesce(sum(price) filter (where event_type = 'purchase'{% if condition %} and {{ condition }}{% endif %}), 0)
{%- endmacro %}

{#- The funnel counts of a group of events as columns <type>_count (view_count, cart_count,
    purchase_count; remove_from_cart_count too when asked), in that order, with a trailing
    comma after each. -#}
{% macro funnel_counts(event_types=('view', 'cart', 'purchase')) -%}
    {%- for event_type in event_types %}
        {{ event_count(event_type) }} as {{ event_type }}_count,
    {%- endfor %}
{%- endmacro %}

{#- The KPI ratios of a row of totals, for kpi_daily (per day), kpi_weekly (per week) and
    kpi_objectives (per baseline and current period) alike: rates are recomputed from the
    period's totals, never averaged over shorter periods. `totals` is the relation with the
    columns session_count, converted_session_count, bounced_session_count, order_count, revenue
    and visitor_count (only those the asked ratios read); `ratios` picks and orders the ratios
    (default: all four). A ratio without a denominator is null. -#}
{% macro kpi_ratios(totals, ratios=('conversion_rate', 'bounce_rate', 'average_basket', 'revenue_per_visitor')) -%}
    {%- set definitions = {
        'conversion_rate': totals ~ '.converted_session_count / nullif(' ~ totals ~ '.session_count, 0)',
        'bounce_rate': totals ~ '.bounced_session_count / nullif(' ~ totals ~ '.session_count, 0)',
        'average_basket': totals ~ '.revenue / nullif(' ~ totals ~ '.order_count, 0)',
        'revenue_per_visitor': totals ~ '.revenue / nullif(' ~ totals ~ '.visitor_count, 0)',
    } -%}
    {%- for ratio in ratios -%}
        {{ definitions[ratio] }} as {{ ratio }}{% if not loop.last %},
        {% endif %}
    {%- endfor %}
{%- endmacro %}
