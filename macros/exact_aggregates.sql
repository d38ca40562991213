{#-
    Sums and averages of DOUBLE values that do not depend on the order the rows are added in.
    DuckDB's parallel aggregation adds doubles in the order its threads meet the rows, so a plain
    sum() or avg() can differ in its last bits from one build of the same data to the next, and
    between an incremental and a full build (customer_features.price_index by up to 7.4e-12 at
    10M events; popular_products.score too): enough to move a value across a band's threshold
    or to swap two tied products. Each value is rounded to `scale` decimals (DECIMAL(38, scale),
    summed exactly in 128-bit integers) and the result is a DOUBLE again. `scale` 18 leaves
    20 integer digits: a sum must stay below 1e20 (a smaller `scale` for larger sums). `where`,
    if given, is the aggregate's FILTER condition. int_interactions' weights are summed the same
    way, in integer nano-units (interaction_aggregates).
-#}
{% macro exact_sum(expression, scale=18, where=none) -%}
    cast(sum(cast({{ expression }} as decimal(38, {{ scale }})))
        {%- if where is not none %} filter (where {{ where }}){% endif %} as double)
{%- endmacro %}

{% macro exact_avg(expression, scale=18, where=none) -%}
    cast(avg(cast({{ expression }} as decimal(38, {{ scale }})))
        {%- if where is not none %} filter (where {{ where }}){% endif %} as double)
{%- endmacro %}
