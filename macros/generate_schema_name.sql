{#- Schemas are the layer names themselves (staging, intermediate, marts, reference), not
    "<target schema>_<layer>": BI tools read `marts.orders`, whatever the target. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
