{#-
    GDPR metadata as the single source (see docs/gdpr.md). A model or seed holds personal data
    when one of its columns is a person or session key (var gdpr_personal_key_columns, a regular
    expression on column names); its model-level meta must then declare the keys below. The
    columns are read from the yml (node.columns) and from the warehouse (information_schema), so an
    undocumented column is caught too. The erasure test, the processing register and the `amazing
    gdpr` commands all read the same meta.
-#}

{% macro gdpr_required_meta_keys() %}
    {{ return(['contains_personal_data', 'personal_data_columns', 'purpose', 'lawful_basis', 'retention', 'recipients']) }}
{% endmacro %}


{#- Nodes that can hold rows: models, seeds and snapshots, in a stable order. -#}
{% macro gdpr_table_nodes() %}
    {% set nodes = [] %}
    {% if execute %}
        {% for node in graph.nodes.values() | sort(attribute='unique_id') %}
            {% if node.resource_type in ['model', 'seed', 'snapshot'] and node.package_name == project_name %}
                {% do nodes.append(node) %}
            {% endif %}
        {% endfor %}
    {% endif %}
    {{ return(nodes) }}
{% endmacro %}


{#- The built columns of every relation in the warehouse: {'schema.table': [column, ...]}. -#}
{% macro gdpr_warehouse_columns() %}
    {% set columns = {} %}
    {% if execute %}
        {% set rows = run_query(
            "select lower(table_schema) || '.' || lower(table_name), lower(column_name) "
            ~ "from information_schema.columns where table_catalog = current_database() "
            ~ "order by table_schema, table_name, ordinal_position"
        ) %}
        {% for row in rows %}
            {% if row[0] not in columns %}{% do columns.update({row[0]: []}) %}{% endif %}
            {% do columns[row[0]].append(row[1]) %}
        {% endfor %}
    {% endif %}
    {{ return(columns) }}
{% endmacro %}


{#- A value given as a string or a list, as a list. -#}
{% macro gdpr_as_list(value) %}
    {% if value is none %}{{ return([]) }}
    {% elif value is string %}{{ return([value] if value | trim else []) }}
    {% else %}{{ return(value | list) }}
    {% endif %}
{% endmacro %}


{#-
    Every breach of the metadata rule, as a list of {node, column, problem}: a key column not
    declared, a missing or empty meta key, contains_personal_data not true. Purposes are checked
    against the seed by the test that calls this (it can join the seed).
-#}
{% macro gdpr_meta_violations(warehouse_columns=none) %}
    {% set pattern = modules.re.compile('^(' ~ var('gdpr_personal_key_columns') ~ ')$') %}
    {% set built = warehouse_columns if warehouse_columns is not none else gdpr_warehouse_columns() %}
    {% set violations = [] %}
    {% for node in gdpr_table_nodes() %}
        {% set meta = node.config.meta or node.meta or {} %}
        {% set columns = [] %}
        {% for name in node.columns.keys() %}{% do columns.append(name | lower) %}{% endfor %}
        {% for name in built.get((node.schema ~ '.' ~ node.alias) | lower, []) %}
            {% if name not in columns %}{% do columns.append(name) %}{% endif %}
        {% endfor %}
        {% set keys = [] %}
        {% for name in columns %}{% if pattern.match(name) %}{% do keys.append(name) %}{% endif %}{% endfor %}
        {% if keys or meta.get('contains_personal_data') %}
            {% if meta.get('contains_personal_data') is not sameas true %}
                {% do violations.append({'node': node.name, 'column': keys | join(', '), 'problem': 'has a person or session column but meta.contains_personal_data is not true'}) %}
            {% endif %}
            {% for key in gdpr_required_meta_keys() %}
                {% if key != 'contains_personal_data' and not gdpr_as_list(meta.get(key)) %}
                    {% do violations.append({'node': node.name, 'column': '', 'problem': 'meta.' ~ key ~ ' is missing'}) %}
                {% endif %}
            {% endfor %}
            {% set declared = gdpr_as_list(meta.get('personal_data_columns')) | map('lower') | list %}
            {% for key in keys %}
                {% if key not in declared %}
                    {% do violations.append({'node': node.name, 'column': key, 'problem': 'column is not in meta.personal_data_columns'}) %}
                {% endif %}
            {% endfor %}
        {% endif %}
    {% endfor %}
    {{ return(violations) }}
{% endmacro %}


{#- (node, purpose) for every purpose a personal-data node declares. -#}
{% macro gdpr_declared_purposes() %}
    {% set pairs = [] %}
    {% for node in gdpr_table_nodes() %}
        {% set meta = node.config.meta or node.meta or {} %}
        {% if meta.get('contains_personal_data') %}
            {% for purpose in gdpr_as_list(meta.get('purpose')) %}
                {% do pairs.append({'node': node.name, 'purpose': purpose}) %}
            {% endfor %}
        {% endif %}
    {% endfor %}
    {{ return(pairs) }}
{% endmacro %}


{#-
    The personal-data relations where an erased user could be found, from the meta: for each,
    the node, its relation, the column holding the user id (meta.user_id_column, default user_id,
    compared as text), the raw-line column if any (raw_line: the id as any comma-separated field)
    and an optional row filter (meta.personal_rows_filter). The erasure list itself
    (meta.erasure_list) is left out: it is where the ids must stay.
-#}
{% macro gdpr_erasure_targets() %}
    {% set targets = [] %}
    {% for node in gdpr_table_nodes() %}
        {% set meta = node.config.meta or node.meta or {} %}
        {% if meta.get('contains_personal_data') and not meta.get('erasure_list') %}
            {% set declared = gdpr_as_list(meta.get('personal_data_columns')) | map('lower') | list %}
            {% set user_column = meta.get('user_id_column', 'user_id') %}
            {% do targets.append({
                'node': node.name,
                'unique_id': node.unique_id,
                'relation': api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias),
                'user_column': user_column if user_column in declared else none,
                'raw_line_column': 'raw_line' if 'raw_line' in declared else none,
                'row_filter': meta.get('personal_rows_filter'),
            }) %}
        {% endif %}
    {% endfor %}
    {{ return(targets) }}
{% endmacro %}


{#- The erasure list: the seed whose meta says erasure_list. -#}
{% macro gdpr_erasure_list_relation() %}
    {% for node in gdpr_table_nodes() %}
        {% set meta = node.config.meta or node.meta or {} %}
        {% if meta.get('erasure_list') %}
            {{ return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) }}
        {% endif %}
    {% endfor %}
    {{ return(none) }}
{% endmacro %}


{#- SQL returning (relation, user_id) for every trace of an erased user in the given targets. -#}
{% macro gdpr_erased_traces_sql(targets, erasure_relation) %}
with erased as (

    select distinct cast(user_id as varchar) as user_id_text
    from {{ erasure_relation }}

){% for target in targets if target.user_column or target.raw_line_column %},

found_{{ loop.index }} as (

    select '{{ target.node }}' as relation, erased.user_id_text as user_id
    from {{ target.relation }} as personal
    inner join erased
        on {% if target.user_column %}cast(personal.{{ target.user_column }} as varchar) = erased.user_id_text{% endif %}
        {%- if target.user_column and target.raw_line_column %}
        or {% endif %}{% if target.raw_line_column %}list_contains(string_split(personal.{{ target.raw_line_column }}, ','), erased.user_id_text){% endif %}
    {%- if target.row_filter %}
    where {{ target.row_filter }}
    {%- endif %}

){% endfor %}

select relation, user_id from (
    select null::varchar as relation, null::varchar as user_id where false
    {%- for target in targets if target.user_column or target.raw_line_column %}
    union all
    select * from found_{{ loop.index }}
    {%- endfor %}
)
{% endmacro %}


{#-
    on-run-end: the two GDPR checks again over every relation once the whole run is done, so a
    model built after the singular tests ran (a new leaf, or one without yml columns) cannot slip
    through. Fails the run with the list of problems.
-#}
{% macro gdpr_check_after_run() %}
    {% if execute and flags.WHICH in ['build', 'run'] %}
        {% set built = gdpr_warehouse_columns() %}
        {% set problems = [] %}
        {% for violation in gdpr_meta_violations(built) %}
            {% do problems.append(violation.node ~ (' (' ~ violation.column ~ ')' if violation.column else '') ~ ': ' ~ violation.problem) %}
        {% endfor %}
        {% set erasure = gdpr_erasure_list_relation() %}
        {% if erasure is not none and (erasure.schema ~ '.' ~ erasure.identifier) | lower in built %}
            {% set targets = [] %}
            {% for target in gdpr_erasure_targets() %}
                {% if (target.relation.schema ~ '.' ~ target.relation.identifier) | lower in built %}
                    {% do targets.append(target) %}
                {% endif %}
            {% endfor %}
            {% set traces = run_query(
                "select relation, user_id, count(*) from (" ~ gdpr_erased_traces_sql(targets, erasure)
                ~ ") group by all order by all"
            ) %}
            {% for row in traces %}
                {% do problems.append(row[0] ~ ': still holds erased user ' ~ row[1] ~ ' (' ~ row[2] ~ ' rows; stale if its model was not rebuilt)') %}
            {% endfor %}
        {% endif %}
        {% if problems %}
            {% do exceptions.raise_compiler_error(
                "GDPR check failed (see docs/gdpr.md):\n  - " ~ problems | join("\n  - ")
            ) %}
        {% endif %}
        {% do log("GDPR check: every personal-data relation is declared and no erased user is left", info=true) %}
    {% endif %}
{% endmacro %}


{#-
    Retention (art. 5(1)(e)): true for a timestamp older than var retention_months months before
    var retention_reference_date (empty: the day of the build). retention_months 0 keeps all.
-#}
{% macro retention_expired(timestamp_sql) %}
    {%- set months = var('retention_months', 0) | int -%}
    {%- set reference = var('retention_reference_date', '') -%}
    {%- if months > 0 -%}
        coalesce({{ timestamp_sql }} < ({% if reference %}date '{{ reference }}'{% else %}current_date{% endif %} - interval {{ months }} month)::timestamp, false)
    {%- else -%}
        false
    {%- endif -%}
{% endmacro %}


{#-
    The processing register's raw material: one entry per (purpose, personal-data node), models,
    seeds and sources alike, with its columns, data category, recipients and dbt docs link.
-#}
{% macro gdpr_register_entries() %}
    {% set entries = [] %}
    {% set nodes = gdpr_table_nodes() %}
    {% if execute %}
        {% for source in graph.sources.values() | sort(attribute='unique_id') %}
            {% if source.package_name == project_name %}{% do nodes.append(source) %}{% endif %}
        {% endfor %}
    {% endif %}
    {% for node in nodes %}
        {% set meta = node.config.meta or node.meta or {} %}
        {% if not meta and node.resource_type == 'source' %}{% set meta = node.source_meta or {} %}{% endif %}
        {% if meta.get('contains_personal_data') %}
            {% set relation = node.schema ~ '.' ~ (node.identifier if node.resource_type == 'source' else node.alias) %}
            {% for purpose in gdpr_as_list(meta.get('purpose')) %}
                {% do entries.append({
                    'purpose': purpose,
                    'node': node.name if node.resource_type != 'source' else node.source_name ~ '.' ~ node.name,
                    'resource_type': node.resource_type,
                    'relation': relation,
                    'columns': gdpr_as_list(meta.get('personal_data_columns')) | join(', '),
                    'category': meta.get('personal_data_category', ''),
                    'recipients': gdpr_as_list(meta.get('recipients')) | join(', '),
                    'docs_url': var('gdpr_docs_base_url') ~ '#!/' ~ node.resource_type ~ '/' ~ node.unique_id,
                }) %}
            {% endfor %}
        {% endif %}
    {% endfor %}
    {{ return(entries) }}
{% endmacro %}


{#- A Jinja value as a SQL string literal. -#}
{% macro gdpr_literal(value) %}'{{ (value if value is not none else '') | string | replace("'", "''") }}'{% endmacro %}
