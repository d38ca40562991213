{#- Small cleaning helpers shared by the staging and intermediate models. -#}

{#- Text read as latin-1 (so that no byte can stop the build) is turned back into UTF-8 where
    its bytes were UTF-8 all along; genuinely latin-1 text keeps its latin-1 reading. Only
    values with a non-ASCII character pay for this (strlen counts bytes, length characters). -#}
{% macro repair_text_encoding(column) -%}
    case
        when strlen({{ column }}) = length({{ column }}) then {{ column }}
        else coalesce(
            try(decode(from_hex(list_aggr(
                list_transform(string_split({{ column }}, ''), lambda c: printf('%02x', unicode(c))),
                'string_agg', ''
            )))),
            {{ column }}
        )
    end
{%- endmacro %}

{#- Free text (brand, category_code, event_type): trimmed, empty as null, encoding repaired.
    (A byte-order mark can only precede the header line, which the reader skips.) -#}
{% macro clean_text(column) -%}
    nullif(trim({{ repair_text_encoding(column) }}), '')
{%- endmacro %}

{#- An identifier-like field (ids, price, session): trimmed, empty as null. Anything non-ASCII
    in it fails the cast that follows, so it needs no encoding repair. -#}
{% macro clean_token(column) -%}
    nullif(trim({{ column }}), '')
{%- endmacro %}

{#- Why a parsed price cannot be used as it is (null when it can): `price` is the parsed
    DECIMAL, `raw_price` the raw text kept only when it did not parse. -#}
{% macro price_defect(price, raw_price) -%}
    case
        when {{ raw_price }} is not null then 'non_numeric'
        when {{ price }} is null then 'missing'
        when {{ price }} <= 0 then 'non_positive'
        when {{ price }} > {{ var('max_valid_price') }} then 'above_max'
    end
{%- endmacro %}

{#- The quarantine rule for a readable record, in the priority order of seed quarantine_reasons.
    Expects in scope: event_time, event_type (lower-cased), product_id, user_id, price_defect and
    imputed_price (the product's last valid price at or before the event's time, from
    base_events_imputation_values; null when it had none by then). -#}
{% macro event_reject_reason() -%}
    case
        when event_time is null
            or event_time < timestamp '{{ var("min_valid_event_time") }}'
            or event_time >= timestamp '{{ var("max_valid_event_time") }}'
            then 'invalid_event_time'
        when event_type is null
            or event_type not in (select event_type from {{ ref('event_types') }})
            then 'unknown_event_type'
        when product_id is null then 'missing_product_id'
        when product_id <= 0 then 'invalid_product_id'
        when user_id is null then 'missing_user_id'
        when user_id <= 0 then 'invalid_user_id'
        when price_defect is not null and imputed_price is null then 'invalid_price'
    end
{%- endmacro %}
