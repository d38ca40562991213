{#-
    Every distinct, non-erased event record, cleaned, completed and judged: either it is clean
    (reject_reason is null; stg_events shows it) or it carries the reason it is quarantined
    (events_quarantine shows it). Imputations and their flags are decided here, once.
-#}

with events as (

    select * from {{ ref('base_events_deduplicated') }}
    where not is_gdpr_erased

),

imputation_values as (

    select * from {{ ref('base_products_imputation_values') }}

),

event_types as (

    select event_type from {{ ref('event_types') }}

),

cleaned as (

    select
        events.event_time,
        lower({{ clean_text('events.event_type') }}) as event_type,
        events.product_id,
        events.user_id,
        {{ clean_text('events.user_session') }} as user_session,
        try_cast(trim(events.category_id) as bigint) as category_id,
        {{ clean_text('events.category_code') }} as category_code,
        {{ clean_text('events.brand') }} as brand,
        {{ parse_price('events.price') }} as price,
        {{ price_defect('events.price') }} as price_defect,
        -- a stable key: a hash of the record's raw content, unique after de-duplication
        (hash(
            events.event_time, events.event_type, events.product_id, events.category_id,
            events.category_code, events.brand, events.price, events.user_id, events.user_session
        ) >> 1)::bigint as event_id,
        events.event_type as raw_event_type,
        events.category_id as raw_category_id,
        events.category_code as raw_category_code,
        events.brand as raw_brand,
        events.price as raw_price,
        events.user_session as raw_user_session,
        events.source_file,
        events.line_count
    from events

),

with_product_values as (

    select
        cleaned.*,
        imputation_values.category_code as product_category_code,
        imputation_values.category_id as product_category_id,
        imputation_values.brand as product_brand,
        imputation_values.median_price as product_median_price
    from cleaned
    left join imputation_values
        on cleaned.product_id = imputation_values.product_id

),

judged as (

    select
        *,
        case
            when event_time is null
                or event_time < timestamp '{{ var("min_valid_event_time") }}'
                or event_time >= timestamp '{{ var("max_valid_event_time") }}'
                then 'invalid_event_time'
            when event_type is null or event_type not in (select event_type from event_types)
                then 'unknown_event_type'
            when product_id is null then 'missing_product_id'
            when product_id <= 0 then 'invalid_product_id'
            when user_id is null then 'missing_user_id'
            when user_id <= 0 then 'invalid_user_id'
            when price_defect is not null and product_median_price is null then 'invalid_price'
        end as reject_reason
    from with_product_values

),

-- Events without a user_session get one derived per user: a new session starts after
-- var session_timeout_minutes of inactivity (the usual web-analytics rule).
sessionless as (

    select
        event_id,
        user_id,
        event_time,
        case
            when lag(event_time) over (partition by user_id order by event_time, event_id) is null
                or event_time - lag(event_time) over (partition by user_id order by event_time, event_id)
                    > interval '{{ var("session_timeout_minutes") }} minutes'
                then 1
            else 0
        end as is_session_start
    from judged
    where user_session is null
        and reject_reason is null

),

derived_sessions as (

    select
        event_id,
        'derived:' || user_id || ':' || strftime(
            max(if(is_session_start = 1, event_time, null)) over (
                partition by user_id order by event_time, event_id
                rows between unbounded preceding and current row
            ),
            '%Y%m%dT%H%M%S'
        ) as derived_session_id
    from sessionless

),

final as (

    select
        judged.event_id,
        judged.event_time as event_at,
        cast(judged.event_time as date) as event_date,
        judged.event_type,
        judged.product_id,
        coalesce(judged.category_id, judged.product_category_id) as category_id,
        coalesce(judged.category_code, judged.product_category_code) as category_code,
        coalesce(judged.brand, judged.product_brand) as brand,
        if(judged.price_defect is null, judged.price, judged.product_median_price) as price,
        judged.user_id,
        coalesce(judged.user_session, derived_sessions.derived_session_id) as session_id,
        judged.category_id is null and judged.product_category_id is not null as is_category_id_imputed,
        judged.category_code is null and judged.product_category_code is not null as is_category_code_imputed,
        judged.brand is null and judged.product_brand is not null as is_brand_imputed,
        judged.price_defect as price_imputation_reason,
        judged.user_session is null as is_session_derived,
        judged.source_file,
        judged.line_count - 1 as duplicates_dropped,
        judged.reject_reason,
        if(judged.reject_reason is null, null, judged.raw_event_type) as raw_event_type,
        if(judged.reject_reason is null, null, judged.raw_category_id) as raw_category_id,
        if(judged.reject_reason is null, null, judged.raw_category_code) as raw_category_code,
        if(judged.reject_reason is null, null, judged.raw_brand) as raw_brand,
        if(judged.reject_reason is null, null, judged.raw_price) as raw_price,
        if(judged.reject_reason is null, null, judged.raw_user_session) as raw_user_session
    from judged
    left join derived_sessions
        on judged.event_id = derived_sessions.event_id

)

select * from final
