-- GDPR metadata rule (docs/gdpr.md): every model or seed with a person or session column
-- (var gdpr_personal_key_columns) declares contains_personal_data, personal_data_columns,
-- purpose, lawful_basis, retention and recipients in its meta, lists every such column, and names
-- only purposes of seed processing_purposes. Columns come from the yml and from the warehouse
-- (macros/gdpr.sql), never from a list. Returns one row per breach.
{%- set violations = gdpr_meta_violations() %}
{%- set declared = gdpr_declared_purposes() %}

with metadata_breaches as (

    select null::varchar as model_name, null::varchar as column_name, null::varchar as problem
    where false
    {%- for violation in violations %}
    union all
    select '{{ violation.node }}', '{{ violation.column }}', '{{ violation.problem | replace("'", "''") }}'
    {%- endfor %}

),

declared_purposes as (

    select null::varchar as model_name, null::varchar as purpose
    where false
    {%- for pair in declared %}
    union all
    select '{{ pair.node }}', '{{ pair.purpose | replace("'", "''") }}'
    {%- endfor %}

),

unknown_purposes as (

    select
        model_name,
        '' as column_name,
        'meta.purpose ' || purpose || ' is not in seed processing_purposes' as problem
    from declared_purposes
    where purpose not in (select purpose from {{ ref('processing_purposes') }})

)

select * from metadata_breaches
union all
select * from unknown_purposes
