{#-
    The record of processing activities (GDPR art. 30(1)), one row per purpose of seed
    processing_purposes, generated from the meta of every personal-data model, seed and source
    (macros/gdpr.sql): what is held, in which tables and columns, for whom, how long, and how it
    is protected. Controller, DPO and security measures are vars. `make register` renders the same
    register as docs/processing_register.md (amazing_analytics.gdpr.register).
-#}
{%- set entries = gdpr_register_entries() %}

with purposes as (

    select * from {{ ref('processing_purposes') }}

),

holdings as (

    select
        null::varchar as purpose,
        null::varchar as node_name,
        null::varchar as resource_type,
        null::varchar as relation_name,
        null::varchar as personal_data_columns,
        null::varchar as personal_data_category,
        null::varchar as recipients,
        null::varchar as docs_url
    where false
    {%- for entry in entries %}
    union all
    select
        {{ gdpr_literal(entry.purpose) }}, {{ gdpr_literal(entry.node) }},
        {{ gdpr_literal(entry.resource_type) }}, {{ gdpr_literal(entry.relation) }},
        {{ gdpr_literal(entry.columns) }}, {{ gdpr_literal(entry.category) }},
        {{ gdpr_literal(entry.recipients) }}, {{ gdpr_literal(entry.docs_url) }}
    {%- endfor %}

),

per_purpose as (

    select
        purpose,
        count(*) as relation_count,
        string_agg(relation_name, '; ' order by relation_name) as relations,
        string_agg(relation_name || ' (' || personal_data_columns || ')', '; ' order by relation_name) as personal_data_columns,
        string_agg(distinct nullif(personal_data_category, ''), '; ' order by nullif(personal_data_category, '')) as personal_data_categories,
        array_to_string(list_sort(list_distinct(flatten(list(string_split(nullif(recipients, ''), ', '))))), ', ') as relation_recipients,
        string_agg(node_name || ': ' || docs_url, '; ' order by relation_name) as docs_links
    from holdings
    group by purpose

),

final as (

    select
        purposes.purpose,
        purposes.purpose_name,
        purposes.description as purpose_description,
        {{ gdpr_literal(var('gdpr_controller')) }} as controller,
        {{ gdpr_literal(var('gdpr_controller_representative')) }} as controller_representative,
        {{ gdpr_literal(var('gdpr_dpo')) }} as data_protection_officer,
        purposes.lawful_basis,
        purposes.data_subjects as data_subject_categories,
        coalesce(per_purpose.personal_data_categories, 'none') as personal_data_categories,
        purposes.recipients
            || coalesce('. Declared by the tables: ' || nullif(per_purpose.relation_recipients, ''), '') as recipients,
        purposes.transfers as third_country_transfers,
        purposes.retention as erasure_time_limit,
        {{ var('retention_months', 0) | int }} as retention_months,
        {{ gdpr_literal(var('gdpr_security_measures') | join('; ')) }} as security_measures,
        coalesce(per_purpose.relation_count, 0) as relation_count,
        per_purpose.relations,
        per_purpose.personal_data_columns,
        per_purpose.docs_links
    from purposes
    left join per_purpose on purposes.purpose = per_purpose.purpose

)

select * from final
order by purpose
