{#-
    Incremental loads of the event files (issue 14 §1, docs/scaling.md "Incremental loads").

    base_events_parsed is an incremental model keyed by source file. Each load records the
    fingerprint of every file it has read, (path, size in bytes, modification time), in the
    table `base_events_parsed__files`. The next build compares the files the glob (var
    events_path) matches now with that record:
    - a file whose path and fingerprint are recorded is unchanged: its rows stay, nothing is read;
    - a new file, or a file whose size or modification time changed (a re-delivered or
      corrected file), is read; the rows of its earlier version are deleted first;
    - a recorded file the glob no longer matches has its rows deleted.
    Without a record (first build, `--full-refresh`, or a warehouse built before this table
    existed) every file is read. DuckDB reads only the fingerprint of a file (`read_blob`
    without its content column), never its lines, to decide.
-#}

{#- The file record's relation, quoted part by part like the read errors'. -#}
{% macro event_files_relation(target_relation) %}
{{- return(target_relation.incorporate(path={'identifier': target_relation.identifier ~ '__files'}).quote(database=true, schema=true, identifier=true)) -}}
{% endmacro %}

{#- Every file the glob matches now: a list of (path, size, modified_at text), sorted by path. -#}
{% macro current_event_files() %}
{%- if not execute %}{{ return([]) }}{% endif -%}
{%- set events_path = graph.sources['source.amazing.rees46.events'].meta['events_path'] -%}
{%- set paths = run_query("select file from glob('" ~ events_path ~ "') order by file").columns[0].values() -%}
{%- if paths | length == 0 %}{{ return([]) }}{% endif -%}
{%- set listed = [] -%}
{%- for path in paths %}{% do listed.append("'" ~ path | replace("'", "''") ~ "'") %}{% endfor -%}
{%- set rows = run_query(
    "select filename, size, strftime(last_modified, '%Y-%m-%d %H:%M:%S.%f') from read_blob([" ~ listed | join(', ') ~ "]) order by filename"
).rows -%}
{%- set files = [] -%}
{%- for row in rows %}{% do files.append([row[0], row[1] | int, row[2]]) %}{% endfor -%}
{{ return(files) }}
{% endmacro %}

{#- The (path, size, modified_at) triples recorded by the last load; empty without a record. -#}
{% macro recorded_event_files(target_relation) %}
{%- if not execute %}{{ return([]) }}{% endif -%}
{%- set record = event_files_relation(target_relation) -%}
{#- asked of the catalog, not dbt's relation cache: the pre-hook of a full refresh drops it -#}
{%- set found = run_query(
    "select count(*) from duckdb_tables() where database_name = '" ~ record.database ~ "' and schema_name = '"
    ~ record.schema ~ "' and table_name = '" ~ record.identifier ~ "'"
).columns[0].values()[0] -%}
{%- if found == 0 %}{{ return([]) }}{% endif -%}
{%- set rows = run_query("select source_file, file_size, strftime(file_modified_at, '%Y-%m-%d %H:%M:%S.%f') from " ~ record ~ " order by source_file").rows -%}
{%- set files = [] -%}
{%- for row in rows %}{% do files.append([row[0], row[1] | int, row[2]]) %}{% endfor -%}
{{ return(files) }}
{% endmacro %}

{#- The paths whose current fingerprint equals the recorded one: their rows are kept. -#}
{% macro unchanged_event_files(target_relation) %}
{%- set recorded = [] -%}
{%- for file in recorded_event_files(target_relation) %}{% do recorded.append(file | join('|')) %}{% endfor -%}
{%- set unchanged = [] -%}
{%- for file in current_event_files() %}
    {%- if (file | join('|')) in recorded %}{% do unchanged.append(file[0]) %}{% endif -%}
{%- endfor -%}
{{ return(unchanged) }}
{% endmacro %}

{#- The paths to read in this build: every current file that is not unchanged. -#}
{% macro event_files_to_load(target_relation) %}
{%- set unchanged = unchanged_event_files(target_relation) -%}
{%- set to_load = [] -%}
{%- for file in current_event_files() %}
    {%- if file[0] not in unchanged %}{% do to_load.append(file[0]) %}{% endif -%}
{%- endfor -%}
{{ return(to_load) }}
{% endmacro %}

{#- A SQL list literal of paths: ('a', 'b'), or a list that matches nothing when empty. -#}
{% macro sql_path_list(paths) %}
{%- if paths | length == 0 -%}
(select null::varchar where false)
{%- else -%}
({% for path in paths %}'{{ path | replace("'", "''") }}'{% if not loop.last %}, {% endif %}{% endfor %})
{%- endif -%}
{% endmacro %}

{#- The source's read_csv(...) call, reading only these paths (the same options as the source). -#}
{% macro event_files_read(paths) %}
{%- set location = graph.sources['source.amazing.rees46.events'].meta['external_location'] -%}
{%- set listed = [] -%}
{%- for path in paths %}{% do listed.append("'" ~ path | replace("'", "''") ~ "'") %}{% endfor -%}
{{ return(location | replace("'{events_path}'", "[" ~ listed | join(', ') ~ "]")) }}
{% endmacro %}

{#- Pre-hook: an incremental build deletes the rows of every file that is not unchanged (changed
    or gone); a first build or --full-refresh drops the file record, so everything is read. -#}
{% macro incremental_event_files_pre_hook(target_relation) %}
{%- set record = event_files_relation(target_relation) -%}
{%- if is_incremental() -%}
delete from {{ target_relation }} where source_file not in {{ sql_path_list(unchanged_event_files(target_relation)) }}
{%- else -%}
drop table if exists {{ record }}
{%- endif -%}
{% endmacro %}

{#- Post-hook: the read errors of the files read now replace those of their earlier version (and
    those of files gone), the file record is rewritten, and the erasure list and the retention
    period are applied to the rows kept from earlier loads. -#}
{% macro incremental_event_files_post_hook(target_relation) %}
{%- set record = event_files_relation(target_relation) -%}
{%- set read_errors = target_relation.incorporate(path={'identifier': target_relation.identifier ~ '__read_errors'}).quote(database=true, schema=true, identifier=true) -%}
{%- set unchanged = unchanged_event_files(target_relation) -%}
{%- set to_load = event_files_to_load(target_relation) -%}
{%- set current = current_event_files() -%}
create table if not exists {{ read_errors }} (
    source_file varchar, line_number bigint, raw_line varchar, error_type varchar,
    column_name varchar, error_message varchar, is_gdpr_erased boolean, is_retention_dropped boolean
);
delete from {{ read_errors }} where source_file not in {{ sql_path_list(unchanged) }};
{% if to_load | length > 0 %}
insert into {{ read_errors }} by name select * from (
{{ csv_read_errors_sql() }}
);
{% endif %}
create or replace table {{ record }} (source_file varchar, file_size bigint, file_modified_at timestamp);
{% if current | length > 0 %}
insert into {{ record }} values
{%- for file in current %}
    ('{{ file[0] | replace("'", "''") }}', {{ file[1] }}, '{{ file[2] }}'::timestamp){% if not loop.last %},{% endif %}
{%- endfor %};
{% endif %}
{{ apply_erasure_to_loaded_events(target_relation, read_errors) }}
{% endmacro %}

{#- Rows loaded by earlier builds: a user put on the erasure list since, or a line aged past
    the retention period since, loses its content now, as a full build would have done. -#}
{% macro apply_erasure_to_loaded_events(target_relation, read_errors) %}
update {{ target_relation }} set
    is_gdpr_erased = true,
    event_id = null, event_time = null, event_type = null, product_id = null, user_id = null,
    category_id = null, raw_category_id = null, category_code = null, brand = null, price = null,
    raw_price = null, session_uuid = null, raw_user_session = null
where not is_gdpr_erased
    and user_id in (select user_id from {{ ref('gdpr_erasure_requests') }});
update {{ target_relation }} set
    is_retention_dropped = true,
    event_id = null, event_time = null, event_type = null, product_id = null, user_id = null,
    category_id = null, raw_category_id = null, category_code = null, brand = null, price = null,
    raw_price = null, session_uuid = null, raw_user_session = null
where not is_gdpr_erased and not is_retention_dropped
    and {{ retention_expired('event_time') }};
update {{ read_errors }} set
    is_gdpr_erased = true,
    line_number = null, raw_line = null, error_type = null, column_name = null, error_message = null
where not is_gdpr_erased and not is_retention_dropped
    and {{ csv_fields_overlap('raw_line', "(select " ~ distinct_list('cast(user_id as varchar)') ~ " from " ~ ref('gdpr_erasure_requests') ~ ")") }};
update {{ read_errors }} set
    is_retention_dropped = true,
    line_number = null, raw_line = null, error_type = null, column_name = null, error_message = null
where not is_gdpr_erased and not is_retention_dropped
    and {{ retention_expired(try_parse_event_time("split_part(raw_line, ',', 1)")) }};
{% endmacro %}
