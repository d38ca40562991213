{#-
    SQL portability (issue 14 §4, docs/scaling.md "Portable SQL"): the DuckDB-specific
    functions the event layer uses, each behind `adapter.dispatch`, the way the Tuva project
    keeps one SQL base for several warehouses. `duckdb__` is the implementation every build
    here runs and tests; `databricks__` is the Spark SQL equivalent for dbt-databricks, written
    from the Databricks SQL reference and NOT run here (no Databricks workspace on this machine).
    Only functions whose name or semantics differ between the two get a macro; standard SQL
    (case, coalesce, window functions, date arithmetic) is written as it is.
-#}

{#- A 63-bit integer key hashed from the given expressions (the event id). -#}
{% macro row_hash_key(expressions) -%}
    {{ return(adapter.dispatch('row_hash_key', 'amazing')(expressions)) }}
{%- endmacro %}
{% macro duckdb__row_hash_key(expressions) -%}
    (hash({{ expressions | join(', ') }}) >> 1)::bigint
{%- endmacro %}
{% macro databricks__row_hash_key(expressions) -%}
    shiftright(xxhash64({{ expressions | join(', ') }}), 1)
{%- endmacro %}

{#- A UUID derived from a text (md5 of the text, shown as a UUID): stable session ids. -#}
{% macro text_to_uuid(text_sql) -%}
    {{ return(adapter.dispatch('text_to_uuid', 'amazing')(text_sql)) }}
{%- endmacro %}
{% macro duckdb__text_to_uuid(text_sql) -%}
    md5({{ text_sql }})::uuid
{%- endmacro %}
{% macro databricks__text_to_uuid(text_sql) -%}
    regexp_replace(md5({{ text_sql }}), '^(.{8})(.{4})(.{4})(.{4})(.{12})$', '$1-$2-$3-$4-$5')
{%- endmacro %}

{#- A cast that gives null instead of an error (try_cast exists in both, the uuid type does not). -#}
{% macro safe_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('safe_cast', 'amazing')(expression, data_type)) }}
{%- endmacro %}
{% macro duckdb__safe_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}
{% macro databricks__safe_cast(expression, data_type) -%}
    {%- if data_type | lower == 'uuid' -%}
    if(lower({{ expression }}) rlike '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', lower({{ expression }}), null)
    {%- else -%}
    try_cast({{ expression }} as {{ data_type }})
    {%- endif -%}
{%- endmacro %}

{#- True for a finite double (not NaN, not infinite). -#}
{% macro is_finite(expression) -%}
    {{ return(adapter.dispatch('is_finite', 'amazing')(expression)) }}
{%- endmacro %}
{% macro duckdb__is_finite(expression) -%}
    isfinite({{ expression }})
{%- endmacro %}
{% macro databricks__is_finite(expression) -%}
    (not isnan({{ expression }}) and abs({{ expression }}) < double('infinity'))
{%- endmacro %}

{#- True when one of the comma-separated fields of a line is in a list of texts. -#}
{% macro csv_fields_overlap(line_sql, texts_sql) -%}
    {{ return(adapter.dispatch('csv_fields_overlap', 'amazing')(line_sql, texts_sql)) }}
{%- endmacro %}
{% macro duckdb__csv_fields_overlap(line_sql, texts_sql) -%}
    list_has_any(string_split({{ line_sql }}, ','), {{ texts_sql }})
{%- endmacro %}
{% macro databricks__csv_fields_overlap(line_sql, texts_sql) -%}
    arrays_overlap(split({{ line_sql }}, ','), {{ texts_sql }})
{%- endmacro %}

{#- The distinct values of a column as a list (array), for csv_fields_overlap. -#}
{% macro distinct_list(expression) -%}
    {{ return(adapter.dispatch('distinct_list', 'amazing')(expression)) }}
{%- endmacro %}
{% macro duckdb__distinct_list(expression) -%}
    list(distinct {{ expression }})
{%- endmacro %}
{% macro databricks__distinct_list(expression) -%}
    collect_set({{ expression }})
{%- endmacro %}

{#- A timestamp parsed from text with REES46's layout, null when it does not parse. -#}
{% macro try_parse_event_time(text_sql) -%}
    {{ return(adapter.dispatch('try_parse_event_time', 'amazing')(text_sql)) }}
{%- endmacro %}
{% macro duckdb__try_parse_event_time(text_sql) -%}
    try_strptime({{ text_sql }}, '%Y-%m-%d %H:%M:%S UTC')
{%- endmacro %}
{% macro databricks__try_parse_event_time(text_sql) -%}
    try_to_timestamp({{ text_sql }}, "yyyy-MM-dd HH:mm:ss 'UTC'")
{%- endmacro %}

{#- The value of the row with the smallest key (arg_min in DuckDB, min_by in Spark). -#}
{% macro value_at_min(value_sql, key_sql) -%}
    {{ return(adapter.dispatch('value_at_min', 'amazing')(value_sql, key_sql)) }}
{%- endmacro %}
{% macro duckdb__value_at_min(value_sql, key_sql) -%}
    arg_min({{ value_sql }}, {{ key_sql }})
{%- endmacro %}
{% macro databricks__value_at_min(value_sql, key_sql) -%}
    min_by({{ value_sql }}, {{ key_sql }})
{%- endmacro %}

{#- A timestamp as text 'YYYY-MM-DD HH:MM:SS'. -#}
{% macro timestamp_text(timestamp_sql) -%}
    {{ return(adapter.dispatch('timestamp_text', 'amazing')(timestamp_sql)) }}
{%- endmacro %}
{% macro duckdb__timestamp_text(timestamp_sql) -%}
    strftime({{ timestamp_sql }}, '%Y-%m-%d %H:%M:%S')
{%- endmacro %}
{% macro databricks__timestamp_text(timestamp_sql) -%}
    date_format({{ timestamp_sql }}, 'yyyy-MM-dd HH:mm:ss')
{%- endmacro %}

{#- Written between a CTE's name and its body (``events as {{ inlined_cte() }} (``): the planner
    repeats the CTE at each place it is read instead of computing it once and holding its rows.
    For a filter of a table that is cheap to scan again, read more than once: DuckDB holds a
    CTE read twice by default (at 10M events, int_interactions' 9.9M filtered events, 0.6 GB),
    which under memory pressure spills (benchmarks.md, sixteenth pass). Spark inlines CTEs. -#}
{% macro inlined_cte() -%}
    {{ return(adapter.dispatch('inlined_cte', 'amazing')()) }}
{%- endmacro %}
{% macro duckdb__inlined_cte() -%}
    not materialized
{%- endmacro %}
{% macro default__inlined_cte() -%}
{%- endmacro %}

{#- on-run-start: DuckDB's worker threads from $AMAZING_DUCKDB_THREADS (a positive integer)
    when it is set; otherwise nothing changes (DuckDB uses one thread per core). -#}
{% macro duckdb_threads_from_env() %}
{%- set threads = env_var('AMAZING_DUCKDB_THREADS', '') | trim -%}
{%- if threads and target.type == 'duckdb' -%}
    {%- if not threads.isdigit() or threads | int < 1 -%}
        {{ exceptions.raise_compiler_error("AMAZING_DUCKDB_THREADS must be a positive integer, got '" ~ threads ~ "'") }}
    {%- endif -%}
set threads = {{ threads | int }}
{%- else -%}
select 1 as threads_unchanged
{%- endif -%}
{% endmacro %}
