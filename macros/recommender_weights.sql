{#- The implicit-feedback weight of one event, shared by int_interactions, the session neighbours and
    the session evaluation's training history: the event type's weight (vars
    recommender_weight_view / _cart / _purchase; remove_from_cart and anything else: null) ... -#}
{% macro recommender_event_weight(event_type) -%}
    case {{ event_type }}
        when 'view' then {{ var('recommender_weight_view') }}
        when 'cart' then {{ var('recommender_weight_cart') }}
        when 'purchase' then {{ var('recommender_weight_purchase') }}
    end
{%- endmacro %}

{#- ... halved every recommender_half_life_days days of age at the reference date. -#}
{% macro recommender_decay(event_date, reference_date) -%}
    power(0.5, date_diff('day', {{ event_date }}, {{ reference_date }}) / {{ var('recommender_half_life_days') }})
{%- endmacro %}

{#- Whether var session_eval_split_at names a split of the session evaluation's own. Unset,
    the split is the batch evaluation's, and the models before it read the batch evaluation's
    inputs (int_interactions, int_product_cooccurrence) instead of computing them again. -#}
{% macro session_eval_split_named() -%}
    {{ return((var('session_eval_split_at', '') | string | trim) != '') }}
{%- endmacro %}

{#- The session evaluation's split: var session_eval_split_at (a timestamp) when set, else the
    first instant of the recommenders' test window (recommender_window). Neighbours, popularity
    and histories use only events before it; the test sessions start at or after it. -#}
{% macro session_eval_cutoff() -%}
    {%- if session_eval_split_named() -%}
        cast('{{ var("session_eval_split_at") }}' as timestamp)
    {%- else -%}
        (select cast(test_start_date as timestamp) from ({{ recommender_window() }}))
    {%- endif -%}
{%- endmacro %}

{#- The per user x product columns of an interaction, shared by int_interactions and the session
    evaluation's training history: event counts, first / last event and the decayed weight,
    summed in integer nano-units (a float sum depends on the order DuckDB's parallel aggregation
    adds the events in, and the same input must give the same weights). Expects event_type,
    event_at, event_date, event_weight and reference_date; the caller groups by user_id and
    product_id (and split). -#}
{% macro interaction_aggregates() -%}
        {{ funnel_counts() }}
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,
        min(date_diff('day', event_date, reference_date)) as days_since_last_event,
        sum(
            cast(round(
                1e9 * event_weight * {{ recommender_decay('event_date', 'reference_date') }}
            ) as bigint)
        ) / 1e9 as weight
{%- endmacro %}
