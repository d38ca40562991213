-- customers owns the lifetime order facts (order_count, revenue: aggregated from orders);
-- customer_features holds the same facts as of as_of_date (the feature macro the propensity
-- snapshots share, which must be computable for past days). When the snapshot covers all the
-- data, the two agree for every shopper whose sessions belong to one user (a session shared by
-- users gives its order to the user who opened it in orders, and each purchase to its own user
-- in the daily activity). Returns the shoppers where they do not.

with last_day as (

    select max(cast(last_seen_at as date)) as last_date from {{ ref('customers') }}

),

shared_session_users as (

    select distinct events.user_id
    from {{ ref('stg_events') }} as events
    inner join {{ ref('sessions') }} as sessions on events.session_id = sessions.session_id
    where sessions.is_shared_by_users and events.user_id is not null

)

select
    customers.user_id,
    customers.order_count,
    features.order_count as feature_order_count,
    customers.revenue,
    features.revenue as feature_revenue
from {{ ref('customers') }} as customers
inner join {{ ref('customer_features') }} as features on customers.user_id = features.user_id
cross join last_day
where features.as_of_date >= last_day.last_date
    and customers.user_id not in (select shared_session_users.user_id from shared_session_users)
    and (
        customers.order_count <> features.order_count
        or customers.revenue <> features.revenue
    )
