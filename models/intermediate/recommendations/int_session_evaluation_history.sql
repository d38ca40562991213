{#-
    What the session evaluation may know from before its split (session_eval_cutoff()): one row
    per user x product of the events before it, in the columns of int_interactions (split
    'evaluation_train', weight = the same decayed event weights, aged to the split's day). The
    popularity fill, the shoppers' "recently viewed, not bought" history and the LightFM fitted
    for the embedding model come from here. Opt-outs are left out. With session_eval_split_at
    unset it holds exactly int_interactions' evaluation_train rows, and is read from there
    instead of aggregating the same events again (benchmarks.md, eleventh pass); both ways'
    inputs are declared, whichever the var picks.
-#}
-- depends_on: {{ ref('int_interactions') }}
-- depends_on: {{ ref('stg_events') }}
-- depends_on: {{ ref('gdpr_personalisation_opt_outs') }}
{%- if not session_eval_split_named() %}

select * from {{ ref('int_interactions') }} where split = 'evaluation_train'
{%- else %}

with window_dates as (

    select cutoff_at, cast(cutoff_at as date) as reference_date
    from (select {{ session_eval_cutoff() }} as cutoff_at)

),

events as (

    select
        events.user_id,
        events.product_id,
        events.event_type,
        events.event_date,
        events.event_at,
        window_dates.reference_date,
        {{ recommender_event_weight('events.event_type') }} as event_weight
    from {{ ref('stg_events') }} as events
    cross join window_dates
    where events.event_type in ('view', 'cart', 'purchase')
        and events.event_at < window_dates.cutoff_at
        and events.user_id not in (
            select user_id from {{ ref('gdpr_personalisation_opt_outs') }} where user_id is not null
        )

),

final as (

    select
        'evaluation_train' as split,
        user_id,
        product_id,
        {{ interaction_aggregates() }}
    from events
    group by user_id, product_id

)

select * from final
{%- endif %}
