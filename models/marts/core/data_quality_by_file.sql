{#-
    The reconciliation per event file: every file matched by var events_path has a row, even a
    file with only a header (or empty), so an auditor sees what was read from where.
    A duplicate is counted in the file of its first copy.
-#}

{#- The glob the source reads (its meta.events_path), so the files listed are the files read. -#}
{%- set events_path = graph.sources['source.amazing.rees46.events'].meta['events_path'] if execute else '' %}

with files as (

    select file as source_file from glob('{{ events_path }}')

),

readable as (

    select
        source_file,
        count(*) as readable_lines,
        count(*) filter (where is_gdpr_erased) as gdpr_erased_rows,
        count(*) filter (where is_retention_dropped) as retention_dropped_rows
    from {{ ref('base_events_parsed') }}
    group by source_file

),

classified as (

    select
        source_file,
        count(*) filter (where reject_reason is null) as clean_rows,
        count(*) filter (where reject_reason is not null) as quarantined_records,
        sum(duplicates_dropped) as duplicate_rows
    from {{ ref('base_events_classified') }}
    group by source_file

),

unreadable as (

    select
        source_file,
        sum(line_count) as unreadable_lines,
        count(*) filter (where not is_gdpr_erased and not is_retention_dropped) as quarantined_lines,
        coalesce(sum(line_count - 1) filter (where not is_gdpr_erased and not is_retention_dropped), 0) as duplicate_rows,
        coalesce(sum(line_count) filter (where is_gdpr_erased), 0) as gdpr_erased_rows,
        coalesce(sum(line_count) filter (where is_retention_dropped), 0) as retention_dropped_rows
    from {{ ref('base_events_rejected_lines') }}
    group by source_file

),

final as (

    select
        files.source_file,
        (coalesce(readable.readable_lines, 0) + coalesce(unreadable.unreadable_lines, 0))::bigint as input_rows,
        coalesce(classified.clean_rows, 0)::bigint as clean_rows,
        (coalesce(classified.quarantined_records, 0) + coalesce(unreadable.quarantined_lines, 0))::bigint as quarantined_rows,
        (coalesce(classified.duplicate_rows, 0) + coalesce(unreadable.duplicate_rows, 0))::bigint as duplicate_rows,
        (coalesce(readable.gdpr_erased_rows, 0) + coalesce(unreadable.gdpr_erased_rows, 0))::bigint as gdpr_erased_rows,
        (coalesce(readable.retention_dropped_rows, 0) + coalesce(unreadable.retention_dropped_rows, 0))::bigint as retention_dropped_rows
    from files
    left join readable on files.source_file = readable.source_file
    left join classified on files.source_file = classified.source_file
    left join unreadable on files.source_file = unreadable.source_file

)

select
    *,
    input_rows = 0 as is_empty_file
from final
