{#-
    DuckDB keeps the lines that read_csv(..., store_rejects=true) could not parse in two
    temporary tables of the connection, replaced by every such read. The source names them for
    itself (rejects_table 'events_read_errors', rejects_scan 'events_read_scans' in
    _staging__sources.yml), so no other CSV read, in this thread or another, can replace them;
    and a temporary table belongs to the connection (the dbt thread) that ran the read, which is
    the one that runs the post-hook. This macro is the select of the last scan's rejected lines,
    one row per line; the post-hook of the model that reads the source
    (incremental_event_files_post_hook) inserts them into the persistent table
    `<model>__read_errors` that base_events_rejected_lines exposes, in place of the rows of the
    files' earlier versions. Without those tables (the source read without them, or the hook run
    on another model) it fails with a clear error instead of copying another read's errors.

    GDPR: a rejected line that contains the id of a user on the erasure list (as any field) keeps
    no content: only its file and the fact that it was erased are kept, so it is still counted.
    A line older than the retention period (var retention_months) keeps no content either.
-#}
{% macro csv_read_errors_sql() %}
{%- set found = run_query("select count(*) from duckdb_tables() where temporary and table_name in ('events_read_errors', 'events_read_scans')") if execute else none %}
{%- if execute and found.columns[0].values()[0] != 2 %}
    {{ exceptions.raise_compiler_error("csv_read_errors_sql: the connection has no events_read_errors / events_read_scans tables; run it in the post-hook of the model that reads source('rees46', 'events'), whose read_csv names them (rejects_table, rejects_scan in _staging__sources.yml)") }}
{%- endif %}
{%- set structural_last = "(error_type not in ('MISSING COLUMNS', 'TOO MANY COLUMNS', 'UNQUOTED VALUE', 'LINE SIZE OVER MAXIMUM', 'INVALID UNICODE'))::int * 100 + column_idx" %}
with scans as (
    -- the last read of the source on this connection (the model this hook belongs to)
    select scan_id, file_id, file_path
    from events_read_scans
    where scan_id = (select max(scan_id) from events_read_scans)
),

errors as (
    select
        scans.file_path as source_file,
        reject_errors.line as line_number,
        reject_errors.csv_line as raw_line,
        reject_errors.error_type,
        reject_errors.column_name,
        reject_errors.column_idx,
        reject_errors.error_message
    from events_read_errors as reject_errors
    inner join scans
        on reject_errors.scan_id = scans.scan_id
        and reject_errors.file_id = scans.file_id
),

-- One row per rejected line; a line with several errors keeps its most telling one:
-- structural errors first, then the first failing column.
per_line as (
    select
        source_file,
        line_number,
        any_value(raw_line) as raw_line,
        {{ value_at_min('error_type', structural_last) }} as error_type,
        {{ value_at_min('column_name', structural_last) }} as column_name,
        string_agg(error_message, ' | ' order by column_idx) as error_message
    from errors
    group by source_file, line_number
),

erased_ids as (
    select {{ distinct_list('cast(user_id as varchar)') }} as ids
    from {{ ref('gdpr_erasure_requests') }}
),

flagged as (
    select
        per_line.*,
        coalesce({{ csv_fields_overlap('per_line.raw_line', 'erased_ids.ids') }}, false) as is_gdpr_erased
    from per_line
    cross join erased_ids
),

-- retention: a line whose first field is a readable timestamp older than the retention period
aged as (
    select
        *,
        not is_gdpr_erased
            and {{ retention_expired(try_parse_event_time("split_part(raw_line, ',', 1)")) }}
            as is_retention_dropped
    from flagged
)

select
    source_file,
    if(is_gdpr_erased or is_retention_dropped, null, line_number) as line_number,
    if(is_gdpr_erased or is_retention_dropped, null, raw_line) as raw_line,
    if(is_gdpr_erased or is_retention_dropped, null, error_type) as error_type,
    if(is_gdpr_erased or is_retention_dropped, null, column_name) as column_name,
    if(is_gdpr_erased or is_retention_dropped, null, error_message) as error_message,
    is_gdpr_erased,
    is_retention_dropped
from aged
{% endmacro %}
