-- GDPR erasure reaches every output: no user of seed gdpr_erasure_requests appears in any
-- table built from the events, nor as a field of a quarantined line. Returns offending rows.

with erased as (

    select distinct user_id, cast(user_id as varchar) as user_id_text
    from {{ ref('gdpr_erasure_requests') }}

),

found as (

    select 'base_events_parsed' as relation, user_id from {{ ref('base_events_parsed') }}
    where user_id in (select user_id from erased)
    union all
    select 'stg_events', user_id from {{ ref('stg_events') }}
    where user_id in (select user_id from erased)
    union all
    select 'events_quarantine', erased.user_id
    from {{ ref('events_quarantine') }} as quarantine
    inner join erased
        on quarantine.user_id = erased.user_id_text
        or list_contains(string_split(quarantine.raw_line, ','), erased.user_id_text)
    union all
    select 'base_events_rejected_lines', erased.user_id
    from {{ ref('base_events_rejected_lines') }} as rejected
    inner join erased on list_contains(string_split(rejected.raw_line, ','), erased.user_id_text)
    union all
    select 'sessions', user_id from {{ ref('sessions') }}
    where user_id in (select user_id from erased)
    union all
    select 'orders', user_id from {{ ref('orders') }}
    where user_id in (select user_id from erased)
    union all
    select 'customers', user_id from {{ ref('customers') }}
    where user_id in (select user_id from erased)
    union all
    select 'customer_features', user_id from {{ ref('customer_features') }}
    where user_id in (select user_id from erased)
    union all
    select 'customer_segments', user_id from {{ ref('customer_segments') }}
    where user_id in (select user_id from erased)
    union all
    select 'customer_propensity', user_id from {{ ref('customer_propensity') }}
    where user_id in (select user_id from erased)
    union all
    select 'interactions', user_id from {{ ref('interactions') }}
    where user_id in (select user_id from erased)
    union all
    select 'user_embeddings', user_id from {{ ref('user_embeddings') }}
    where user_id in (select user_id from erased)
    union all
    select 'recommendations', user_id from {{ ref('recommendations') }}
    where user_id in (select user_id from erased)
    union all
    select 'campaign_audiences', user_id from {{ ref('campaign_audiences') }}
    where user_id in (select user_id from erased)

)

select * from found
