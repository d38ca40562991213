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

{#- Trimmed text, empty as null, encoding repaired, byte-order mark removed. -#}
{% macro clean_text(column) -%}
    nullif(trim(replace({{ repair_text_encoding(column) }}, chr(65279), '')), '')
{%- endmacro %}

{#- A price string as an exact DECIMAL(18, 2), or null when it is not a finite number. -#}
{% macro parse_price(column) -%}
    case
        when isfinite(try_cast(trim({{ column }}) as double))
            then try_cast(trim({{ column }}) as decimal(18, 2))
    end
{%- endmacro %}

{#- Why a raw price cannot be used as it is; null when it can. -#}
{% macro price_defect(column) -%}
    case
        when nullif(trim({{ column }}), '') is null then 'missing'
        when {{ parse_price(column) }} is null then 'non_numeric'
        when {{ parse_price(column) }} <= 0 then 'non_positive'
        when {{ parse_price(column) }} > {{ var('max_valid_price') }} then 'above_max'
    end
{%- endmacro %}
