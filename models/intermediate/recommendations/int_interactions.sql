{#-
    User x product implicit feedback, the input of every recommender, in three splits:
      evaluation_train  events before the test window (the last recommender_eval_days days),
                        decayed to the window's first day
      evaluation_test   the products each user carted or bought in the test window (the truth)
      serving           every event up to as_of_date, decayed to the day after it
    weight = sum over the pair's events of the event type's weight (vars recommender_weight_*)
    x 0.5 ^ (age in days / recommender_half_life_days). remove_from_cart carries no weight.
    Erased users are not in stg_events; personalisation opt-outs are left out entirely (no
    profile is learned from or for them).
-#}

with window_dates as (

    {{ recommender_window() }}

),

opt_outs as (

    -- (a null id would make `not in` drop everyone)
    select distinct user_id from {{ ref('gdpr_personalisation_opt_outs') }} where user_id is not null

),

events as {{ inlined_cte() }} (

    select
        events.user_id,
        events.product_id,
        events.event_type,
        events.event_date,
        events.event_at,
        {{ recommender_event_weight('events.event_type') }} as event_weight
    from {{ ref('stg_events') }} as events
    cross join window_dates
    where events.event_type in ('view', 'cart', 'purchase')
        and events.event_date <= window_dates.as_of_date
        and events.user_id not in (select user_id from opt_outs)

),

{#- one aggregation per split, under its own name: a split is not a grouping key (at 10M
    events grouping the 19M rows of all three on (split, user_id, product_id) took 11 s, one
    split at a time 6 s; benchmarks.md, eleventh pass) -#}
{%- set splits = [
    ('evaluation_train', 'window_dates.test_start_date',
        'events.event_date < window_dates.test_start_date'),
    ('evaluation_test', 'window_dates.as_of_date + 1',
        "events.event_date >= window_dates.test_start_date\n            and events.event_type in ('cart', 'purchase')"),
    ('serving', 'window_dates.as_of_date + 1', none),
] %}

final as (
    {%- for split, reference_date, condition in splits %}

    -- the events of the split with the day their age is measured from
    select
        '{{ split }}' as split,
        user_id,
        product_id,
        {{ interaction_aggregates() }}
    from (
        select events.*, {{ reference_date }} as reference_date
        from events cross join window_dates
        {%- if condition %}
        where {{ condition }}
        {%- endif %}
    )
    group by user_id, product_id
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)

select * from final
