-- Nothing is silently lost: every input line is a clean event, a quarantined line, a dropped
-- exact duplicate, an erased line or a line past the retention period. Recomputed from the models themselves (not from
-- data_quality_report) and compared with the report. Returns a row when anything disagrees.

with input_lines as (

    select
        (select count(*) from {{ ref('base_events_parsed') }})
        + (select coalesce(sum(line_count), 0) from {{ ref('base_events_rejected_lines') }}) as n

),

accounted as (

    select
        (select count(*) from {{ ref('stg_events') }}) as clean_rows,
        (select count(*) from {{ ref('events_quarantine') }}) as quarantined_rows,
        (select coalesce(sum(duplicates_dropped), 0) from {{ ref('base_events_classified') }})
        + (select coalesce(sum(line_count - 1), 0) from {{ ref('base_events_rejected_lines') }} where not is_gdpr_erased and not is_retention_dropped)
            as duplicate_rows,
        (select count(*) from {{ ref('base_events_parsed') }} where is_gdpr_erased)
        + (select coalesce(sum(line_count), 0) from {{ ref('base_events_rejected_lines') }} where is_gdpr_erased)
            as gdpr_erased_rows,
        (select count(*) from {{ ref('base_events_parsed') }} where is_retention_dropped)
        + (select coalesce(sum(line_count), 0) from {{ ref('base_events_rejected_lines') }} where is_retention_dropped)
            as retention_dropped_rows

),

report as (

    select
        max(rows_affected) filter (where check_name = 'input_rows') as input_rows,
        max(rows_affected) filter (where check_name = 'clean_rows') as clean_rows,
        max(rows_affected) filter (where check_name = 'quarantined_rows') as quarantined_rows,
        max(rows_affected) filter (where check_name = 'duplicate_rows') as duplicate_rows,
        max(rows_affected) filter (where check_name = 'gdpr_erased_rows') as gdpr_erased_rows,
        max(rows_affected) filter (where check_name = 'retention_dropped_rows') as retention_dropped_rows,
        max(rows_affected) filter (where check_name = 'unreconciled_rows') as unreconciled_rows
    from {{ ref('data_quality_report') }}

)

select
    input_lines.n as input_lines,
    accounted.*,
    report.input_rows as reported_input_rows,
    report.unreconciled_rows as reported_unreconciled_rows
from input_lines, accounted, report
where input_lines.n <> accounted.clean_rows + accounted.quarantined_rows
        + accounted.duplicate_rows + accounted.gdpr_erased_rows + accounted.retention_dropped_rows
    or report.input_rows <> input_lines.n
    or report.clean_rows <> accounted.clean_rows
    or report.quarantined_rows <> accounted.quarantined_rows
    or report.duplicate_rows <> accounted.duplicate_rows
    or report.gdpr_erased_rows <> accounted.gdpr_erased_rows
    or report.retention_dropped_rows is distinct from accounted.retention_dropped_rows
    or report.unreconciled_rows <> 0
