{#- The few generic tests this project needs (no dbt_utils here: dbt deps cannot reach the hub). -#}

{#- Every value lies in [min_value, max_value] (either bound may be omitted); nulls pass. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and (
    false
    {%- if min_value is not none %}
    or {{ column_name }} {{ '<' if inclusive else '<=' }} {{ min_value }}
    {%- endif %}
    {%- if max_value is not none %}
    or {{ column_name }} {{ '>' if inclusive else '>=' }} {{ max_value }}
    {%- endif %}
  )
{% endtest %}

{#- A boolean SQL expression holds on every row (rows where it is false or null fail). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}

{#- No two rows share the same combination of these columns. With ``one_pass_per`` (a text
    column of the combination with a few values, like ``split``): one grouping per value of it,
    on the other columns only, and one for its nulls. At 10M events grouping
    int_product_cooccurrence's 32M pairs with their split took 7.6-10.4 CPU seconds and, beside
    another model, set the build's memory peak; a split at a time, 5.6-6.4 (benchmarks.md,
    sixteenth pass). -#}
{% test unique_combination_of_columns(model, combination_of_columns, one_pass_per=none) %}
{%- if one_pass_per is none %}
select {{ combination_of_columns | join(', ') }}, count(*) as row_count
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{%- else %}
{%- if one_pass_per not in combination_of_columns %}
    {{ exceptions.raise_compiler_error("unique_combination_of_columns: one_pass_per " ~ one_pass_per ~ " is not one of " ~ combination_of_columns | join(', ')) }}
{%- endif %}
{%- set others = combination_of_columns | reject('equalto', one_pass_per) | list %}
{%- set values = run_query("select distinct cast(" ~ one_pass_per ~ " as varchar) from " ~ model ~ " where " ~ one_pass_per ~ " is not null order by 1").columns[0].values() if execute else [] %}
{%- for value in values %}
select '{{ value | replace("'", "''") }}' as {{ one_pass_per }}, {{ others | join(', ') }}, count(*) as row_count
from {{ model }}
where {{ one_pass_per }} = '{{ value | replace("'", "''") }}'
group by {{ others | join(', ') }}
having count(*) > 1
union all
{%- endfor %}
select {{ combination_of_columns | join(', ') }}, count(*) as row_count
from {{ model }}
where {{ one_pass_per }} is null
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{%- endif %}
{% endtest %}
