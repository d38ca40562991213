{#- The day marketing's "today" is: var as_of_date, else the last day with a kept event. -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date', '') | string | trim -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        (select max(event_date) from {{ ref('stg_events') }})
    {%- endif -%}
{%- endmacro %}
