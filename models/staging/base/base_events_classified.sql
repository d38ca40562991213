{#-
    Every distinct, non-erased event record, de-duplicated, completed and judged: either it is clean
    (reject_reason is null; stg_events shows it) or it carries the reason it is quarantined
    (events_quarantine shows it). Imputations and their flags are decided here, once.
-#}

with lines as (

    select * exclude (is_gdpr_erased, is_retention_dropped) from {{ ref('base_events_parsed') }}
    where not is_gdpr_erased and not is_retention_dropped

),

-- Exact duplicates share their event_id (a hash of the parsed content). Only the few keys seen
-- more than once are grouped on their full content, so a hash collision between two different
-- records cannot merge them: they would keep the same event_id and fail its unique test.
repeated_keys as (

    select event_id from lines group by event_id having count(*) > 1

),

events as (

    select *, 1 as line_count
    from lines
    where event_id not in (select event_id from repeated_keys)

    union all by name

    select
        * exclude (source_file),
        min(source_file) as source_file,
        count(*) as line_count
    from lines
    where event_id in (select event_id from repeated_keys)
    group by all

),

imputation_values as (

    select * from {{ ref('base_events_imputation_values') }}

),

derived_sessions as (

    select event_id, session_id from {{ ref('base_events_derived_sessions') }}

),

with_imputation_values as (

    select
        events.* exclude (event_type),
        lower(trim(events.event_type)) as event_type,
        events.event_type as raw_event_type,
        {{ price_defect('events.price', 'events.raw_price') }} as price_defect,
        -- the product's values at the event's time (point in time, never a later event's)
        imputation_values.category_code as imputed_category_code,
        imputation_values.category_id as imputed_category_id,
        imputation_values.brand as imputed_brand,
        imputation_values.price as imputed_price
    from events
    left join imputation_values
        on events.product_id = imputation_values.product_id
            and events.event_time = imputation_values.event_time

),

judged as (

    select
        *,
        {{ event_reject_reason() }} as reject_reason
    from with_imputation_values

),

final as (

    select
        judged.event_id,
        judged.event_time as event_at,
        cast(judged.event_time as date) as event_date,
        judged.event_type,
        judged.product_id,
        coalesce(judged.category_id, judged.imputed_category_id) as category_id,
        coalesce(judged.category_code, judged.imputed_category_code) as category_code,
        coalesce(judged.brand, judged.imputed_brand) as brand,
        if(judged.price_defect is null, judged.price, judged.imputed_price) as price,
        judged.user_id,
        coalesce(
            judged.session_uuid,
            -- a session id that is not a UUID keeps its identity through a hash of its text
            {{ text_to_uuid("'raw:' || judged.raw_user_session") }},
            derived_sessions.session_id
        ) as session_id,
        judged.category_id is null and judged.imputed_category_id is not null as is_category_id_imputed,
        judged.category_code is null and judged.imputed_category_code is not null as is_category_code_imputed,
        judged.brand is null and judged.imputed_brand is not null as is_brand_imputed,
        judged.price_defect as price_imputation_reason,
        judged.session_uuid is null and judged.raw_user_session is null as is_session_derived,
        judged.source_file,
        judged.line_count - 1 as duplicates_dropped,
        judged.reject_reason,
        -- raw values that did not parse, for the quarantine to show
        if(judged.reject_reason is null, null, judged.raw_event_type) as raw_event_type,
        if(judged.reject_reason is null, null, coalesce(judged.raw_category_id, cast(judged.category_id as varchar))) as raw_category_id,
        if(judged.reject_reason is null, null, judged.category_code) as raw_category_code,
        if(judged.reject_reason is null, null, judged.brand) as raw_brand,
        if(judged.reject_reason is null, null, coalesce(judged.raw_price, cast(judged.price as varchar))) as raw_price,
        if(judged.reject_reason is null, null, coalesce(judged.raw_user_session, cast(judged.session_uuid as varchar))) as raw_user_session
    from judged
    left join derived_sessions
        on judged.event_id = derived_sessions.event_id

)

select * from final
