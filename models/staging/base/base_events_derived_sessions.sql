{#-
    Sessionization of the clean events that came without a user_session: per user, a new session
    starts after var session_timeout_minutes of inactivity (the usual web-analytics rule). The
    derived session id is a UUID made from the user and the session's first second, so the same
    input always gives the same id. Only these (few) events are read past the filter.
-#}

with sessionless as (

    select
        events.event_id,
        events.event_time,
        lower(trim(events.event_type)) as event_type,
        events.product_id,
        events.user_id,
        {{ price_defect('events.price', 'events.raw_price') }} as price_defect,
        imputation_values.price as imputed_price
    from {{ ref('base_events_parsed') }} as events
    left join {{ ref('base_events_imputation_values') }} as imputation_values
        on events.product_id = imputation_values.product_id
            and events.event_time = imputation_values.event_time
    where not events.is_gdpr_erased
        and not events.is_retention_dropped
        and events.session_uuid is null
        and events.raw_user_session is null

),

clean as (

    -- exact duplicates (the same event_id) are collapsed here, before the two window sorts:
    -- `lag` and the running `max` may order tied rows differently, which once gave one copy
    -- a session start and the other none
    select distinct event_id, event_time, user_id
    from sessionless
    where {{ event_reject_reason() }} is null

),

session_starts as (

    select
        event_id,
        event_time,
        user_id,
        coalesce(
            event_time - lag(event_time) over (partition by user_id order by event_time, event_id)
                > interval '{{ var("session_timeout_minutes") }} minutes',
            true
        ) as is_session_start
    from clean

),

numbered as (

    select
        event_id,
        user_id,
        max(if(is_session_start, event_time, null)) over (
            partition by user_id order by event_time, event_id
            rows between unbounded preceding and current row
        ) as session_started_at
    from session_starts

)

select
    event_id,
    user_id,
    session_started_at,
    {{ text_to_uuid("'derived:' || user_id || ':' || " ~ timestamp_text('session_started_at')) }} as session_id
from numbered
