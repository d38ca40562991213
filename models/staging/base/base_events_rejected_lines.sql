{{ config(materialized='view') }}
-- depends_on: {{ ref('base_events_parsed') }}
{#-
    The lines DuckDB could not read into the typed layout (wrong width, bad timestamp,
    non-numeric id), persisted by the post-hook of base_events_parsed, with exact duplicate
    lines collapsed (counted) like the readable ones. Lines of erased users and lines past the
    retention period keep no content: one counted row per file.
-#}
{#- The relation is quoted part by part: a warehouse file named e.g. `my-shop dir/my-shop.duckdb`
    makes the database name `my-shop`, which is not a bare SQL identifier. -#}
{%- set parsed = ref('base_events_parsed') %}
{%- set read_errors = parsed.incorporate(path={'identifier': parsed.identifier ~ '__read_errors'}).quote(database=true, schema=true, identifier=true) %}

with read_errors as (

    select * from {{ read_errors }}

),

kept as (

    select
        raw_line,
        min(source_file) as source_file,
        min(line_number) as line_number,
        {{ value_at_min('error_type', '(source_file, line_number)') }} as error_type,
        {{ value_at_min('column_name', '(source_file, line_number)') }} as column_name,
        {{ value_at_min('error_message', '(source_file, line_number)') }} as error_message,
        count(*) as line_count
    from read_errors
    where not is_gdpr_erased and not is_retention_dropped
    group by raw_line

),

-- erased or past retention: one content-free row per file and reason, only counted
dropped as (

    select
        null::varchar as raw_line,
        source_file,
        null::bigint as line_number,
        null::varchar as error_type,
        null::varchar as column_name,
        null::varchar as error_message,
        count(*) as line_count,
        is_gdpr_erased,
        is_retention_dropped
    from read_errors
    where is_gdpr_erased or is_retention_dropped
    group by source_file, is_gdpr_erased, is_retention_dropped

)

select
    *,
    false as is_gdpr_erased,
    false as is_retention_dropped,
    case
        when error_type = 'CAST' and column_name = 'event_time' then 'invalid_event_time'
        when error_type = 'CAST' and column_name = 'product_id' then 'invalid_product_id'
        when error_type = 'CAST' and column_name = 'user_id' then 'invalid_user_id'
        else 'malformed_line'
    end as reject_reason
from kept
union all by name
select
    *,
    null as reject_reason
from dropped
