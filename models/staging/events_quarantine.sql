{#-
    Every line that cannot be trusted, with its raw values, the file it came from and why it was
    rejected. Lines DuckDB could not read (wrong width, bad timestamp, non-numeric id) keep their
    raw text and line number; readable records rejected by a later check keep their nine raw
    fields (line numbers are not known for them: DuckDB's reader does not expose them).
    Users on the GDPR erasure list leave nothing here.
-#}

with classified as (

    select * from {{ ref('base_events_classified') }}
    where reject_reason is not null

),

rejected_lines as (

    select * from {{ ref('base_events_rejected_lines') }}
    where not is_gdpr_erased and not is_retention_dropped

),

reasons as (

    select reject_reason, description from {{ ref('quarantine_reasons') }}

),

rejected_records as (

    select
        'record:' || event_id as quarantine_id,
        source_file,
        cast(null as bigint) as line_number,
        strftime(event_at, '%Y-%m-%d %H:%M:%S UTC') as event_time,
        raw_event_type as event_type,
        cast(product_id as varchar) as product_id,
        raw_category_id as category_id,
        raw_category_code as category_code,
        raw_brand as brand,
        raw_price as price,
        cast(user_id as varchar) as user_id,
        raw_user_session as user_session,
        concat_ws(',',
            coalesce(strftime(event_at, '%Y-%m-%d %H:%M:%S UTC'), ''), coalesce(raw_event_type, ''),
            coalesce(cast(product_id as varchar), ''), coalesce(raw_category_id, ''),
            coalesce(raw_category_code, ''), coalesce(raw_brand, ''), coalesce(raw_price, ''),
            coalesce(cast(user_id as varchar), ''), coalesce(raw_user_session, '')
        ) as raw_line,
        reject_reason,
        cast(null as varchar) as reader_error,
        duplicates_dropped
    from classified

),

unreadable_lines as (

    select
        'line:' || md5(raw_line) as quarantine_id,
        source_file,
        line_number,
        split_part(raw_line, ',', 1) as event_time,
        split_part(raw_line, ',', 2) as event_type,
        split_part(raw_line, ',', 3) as product_id,
        split_part(raw_line, ',', 4) as category_id,
        split_part(raw_line, ',', 5) as category_code,
        split_part(raw_line, ',', 6) as brand,
        split_part(raw_line, ',', 7) as price,
        split_part(raw_line, ',', 8) as user_id,
        split_part(raw_line, ',', 9) as user_session,
        raw_line,
        reject_reason,
        error_message as reader_error,
        line_count - 1 as duplicates_dropped
    from rejected_lines

),

unioned as (

    select * from rejected_records
    union all
    select * from unreadable_lines

)

select
    unioned.*,
    reasons.description as reject_description
from unioned
left join reasons on unioned.reject_reason = reasons.reject_reason
