{#-
    The data audit as a table: one row per check, every check listed even when nothing failed it.
    The reconciliation rows prove that no input line is silently lost:
    input_rows = clean_rows + quarantined_rows + duplicate_rows + gdpr_erased_rows
    + retention_dropped_rows.
-#}

with checks as (

    select * from {{ ref('data_quality_checks') }}

),

readable_lines as (

    select
        count(*) as line_count,
        count(*) filter (where is_gdpr_erased) as erased_line_count,
        count(*) filter (where is_retention_dropped) as retention_line_count
    from {{ ref('base_events_parsed') }}

),

readable_duplicates as (

    select coalesce(sum(duplicates_dropped), 0) as duplicate_count
    from {{ ref('base_events_classified') }}

),

unreadable_lines as (

    select
        coalesce(sum(line_count), 0) as line_count,
        coalesce(sum(line_count) filter (where is_gdpr_erased), 0) as erased_line_count,
        coalesce(sum(line_count) filter (where is_retention_dropped), 0) as retention_line_count,
        coalesce(sum(line_count - 1) filter (where not is_gdpr_erased and not is_retention_dropped), 0) as duplicate_count
    from {{ ref('base_events_rejected_lines') }}

),

line_totals as (

    select
        readable_lines.line_count + unreadable_lines.line_count as input_rows,
        readable_duplicates.duplicate_count + unreadable_lines.duplicate_count as duplicate_rows,
        readable_lines.erased_line_count + unreadable_lines.erased_line_count as gdpr_erased_rows,
        readable_lines.retention_line_count + unreadable_lines.retention_line_count as retention_dropped_rows
    from readable_lines, readable_duplicates, unreadable_lines

),

clean as (

    select
        count(*) as clean_rows,
        count(*) filter (where is_category_code_imputed) as category_code_imputed,
        count(*) filter (where category_code is null) as category_code_missing,
        count(*) filter (where is_category_id_imputed) as category_id_imputed,
        count(*) filter (where category_id is null) as category_id_missing,
        count(*) filter (where is_brand_imputed) as brand_imputed,
        count(*) filter (where brand is null) as brand_missing,
        count(*) filter (where price_imputation_reason = 'missing') as price_imputed_missing,
        count(*) filter (where price_imputation_reason = 'non_numeric') as price_imputed_non_numeric,
        count(*) filter (where price_imputation_reason = 'non_positive') as price_imputed_non_positive,
        count(*) filter (where price_imputation_reason = 'above_max') as price_imputed_above_max,
        count(*) filter (where is_session_derived) as session_id_derived
    from {{ ref('stg_events') }}

),

quarantine as (

    select
        count(*) as quarantined_rows,
        {% for reason in ['malformed_line', 'invalid_event_time', 'unknown_event_type', 'missing_product_id', 'invalid_product_id', 'missing_user_id', 'invalid_user_id', 'invalid_price'] -%}
        count(*) filter (where reject_reason = '{{ reason }}') as quarantine_{{ reason }}{{ "," if not loop.last }}
        {% endfor %}
    from {{ ref('events_quarantine') }}

),

file_checks as (

    select
        count(*) as files_read,
        count(*) filter (where is_empty_file) as empty_files
    from {{ ref('data_quality_by_file') }}

),

session_checks as (

    select
        count(*) as session_count,
        count(*) filter (where is_shared_by_users) as sessions_shared_by_users,
        count(*) filter (where has_inconsistent_times) as sessions_inconsistent_times
    from {{ ref('sessions') }}

),

measures as (

    select
        line_totals.*,
        clean.*,
        quarantine.*,
        session_checks.*,
        file_checks.*,
        line_totals.input_rows - clean.clean_rows - quarantine.quarantined_rows
            - line_totals.duplicate_rows - line_totals.gdpr_erased_rows
            - line_totals.retention_dropped_rows as unreconciled_rows
    from line_totals, clean, quarantine, session_checks, file_checks

),

long_form as (

    unpivot (select * exclude (session_count) from measures)
    on columns(*)
    into name check_name value rows_affected

),

final as (

    select
        coalesce(checks.check_name, long_form.check_name) as check_name,
        checks.check_group,
        checks.measured_in,
        coalesce(long_form.rows_affected, 0)::bigint as rows_affected,
        case
            when checks.measured_in = 'sessions'
                then coalesce(long_form.rows_affected, 0) / nullif(measures.session_count, 0)
            when checks.measured_in = 'files'
                then coalesce(long_form.rows_affected, 0) / nullif(measures.files_read, 0)
            else coalesce(long_form.rows_affected, 0) / nullif(measures.input_rows, 0)
        end as share,
        checks.action_taken,
        checks.description,
        checks.sort_order
    from checks
    -- full join: a measure without a row in the seed shows up with a null check_group (a test fails)
    full join long_form on checks.check_name = long_form.check_name
    cross join measures

)

select * from final
order by sort_order
