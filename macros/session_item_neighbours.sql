{#-
    Item-to-item co-visitation within sessions, top var('session_neighbours_top_n') neighbours
    per product, as (product_id, neighbour_product_id, neighbour_rank, score). One definition for
    the served neighbours (session_item_neighbours, split 'serving': every session up to
    as_of_date) and the evaluated ones (int_session_item_neighbours_train, split
    'evaluation_train': only the events before the session evaluation's split,
    session_eval_cutoff()), so the evaluation judges the computation that serves.

    For every session (opt-outs left out; sessions with 2 to recommender_max_session_products
    distinct products; with var recommender_train_window_days > 0, only the events of the last
    that many days before the cut-off) and every ordered pair of distinct products (a, b) in it:
        pair weight = event weight of b in the session (its strongest event: view / cart /
                      purchase, vars recommender_weight_*)
                    x 0.5 ^ (session age in days at the cut-off / recommender_half_life_days)
                    x 1 if b was first seen after a in the session, else
                      var('session_neighbours_backward_weight') (what comes next counts most)
    score(a, b) = sum of the pair weights over sessions (in integer nano-units: a float sum
    depends on the order DuckDB adds the rows in). Ties by neighbour_product_id. The pairs are
    joined within sessions only, never a products x products matrix.
-#}
{% macro session_item_neighbours(split) -%}
{%- if split not in ('serving', 'evaluation_train') -%}
    {{ exceptions.raise_compiler_error("session_item_neighbours: split must be 'serving' or 'evaluation_train', got " ~ split) }}
{%- endif -%}
with neighbour_window as (

    -- events before cutoff_at count; recency is measured at cutoff_date
    {%- if split == 'serving' %}
    select cast(as_of_date + 1 as timestamp) as cutoff_at, as_of_date + 1 as cutoff_date
    from ({{ recommender_window() }})
    {%- else %}
    select cutoff_at, cast(cutoff_at as date) as cutoff_date
    from (select {{ session_eval_cutoff() }} as cutoff_at)
    {%- endif %}

),

neighbour_events as (

    select
        events.session_id,
        events.product_id,
        events.event_at,
        events.event_date,
        {{ recommender_event_weight('events.event_type') }} as event_weight
    from {{ ref('stg_events') }} as events
    cross join neighbour_window
    where events.event_type in ('view', 'cart', 'purchase')
        and events.event_at < neighbour_window.cutoff_at
        {%- if var('recommender_train_window_days') | int > 0 %}
        -- bounded history (issue 14): only the last recommender_train_window_days days count
        and events.event_at >= neighbour_window.cutoff_at
            - to_days({{ var('recommender_train_window_days') | int }})
        {%- endif %}
        and events.session_id is not null
        and events.user_id not in (
            select user_id from {{ ref('gdpr_personalisation_opt_outs') }} where user_id is not null
        )

),

neighbour_session_products as (

    select
        session_id,
        product_id,
        max(event_weight) as event_weight,
        min(event_at) as first_seen_at
    from neighbour_events
    group by session_id, product_id

),

neighbour_sessions as (

    select
        neighbour_events.session_id,
        {{ recommender_decay(
            'max(neighbour_events.event_date)', 'any_value(neighbour_window.cutoff_date)'
        ) }} as recency_weight
    from neighbour_events
    cross join neighbour_window
    group by neighbour_events.session_id
    having count(distinct neighbour_events.product_id)
        between 2 and {{ var('recommender_max_session_products') }}

),

neighbour_pairs as (

    select
        left_side.product_id,
        right_side.product_id as neighbour_product_id,
        cast(round(
            1e9 * right_side.event_weight * neighbour_sessions.recency_weight
            * case
                when right_side.first_seen_at > left_side.first_seen_at then 1.0
                else {{ var('session_neighbours_backward_weight') }}
            end
        ) as bigint) as pair_weight_nano
    from neighbour_sessions
    inner join neighbour_session_products as left_side
        on neighbour_sessions.session_id = left_side.session_id
    inner join neighbour_session_products as right_side
        on left_side.session_id = right_side.session_id
        and left_side.product_id <> right_side.product_id

),

{%- set chunks = product_pair_chunks() %}
{%- for chunk in range(chunks) %}

neighbour_scores_{{ chunk }} as (

    select
        product_id,
        neighbour_product_id,
        sum(pair_weight_nano) / 1e9 as score
    from neighbour_pairs
    where product_id % {{ chunks }} = {{ chunk }}
    group by product_id, neighbour_product_id

),

neighbour_ranked_{{ chunk }} as (

    select
        product_id,
        neighbour_product_id,
        cast(row_number() over (
            partition by product_id order by score desc, neighbour_product_id
        ) as integer) as neighbour_rank,
        score
    from neighbour_scores_{{ chunk }}
    where score > 0
    qualify neighbour_rank <= {{ var('session_neighbours_top_n') }}

),
{%- endfor %}

neighbour_ranked as (
    {%- for chunk in range(chunks) %}

    select * from neighbour_ranked_{{ chunk }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

)

select
    cast(product_id as bigint) as product_id,
    cast(neighbour_product_id as bigint) as neighbour_product_id,
    neighbour_rank,
    cast(score as double) as score
from neighbour_ranked
{%- endmacro %}

{#- How many product chunks the pair aggregations (session_item_neighbours,
    int_product_cooccurrence) run in: each chunk aggregates the pairs of the products with
    product_id % chunks = chunk, so one hash table holds 1/chunks of the distinct pairs and a
    product's pairs are all in one chunk (the result is the same for any count). Var
    recommender_pair_chunks when > 0, else one chunk per 2.5M clean events (at 10M events the
    42.9M distinct pairs of one split needed 4 GB in one hash table and failed under the 3GB
    memory_limit; in four chunks they fit). -#}
{% macro product_pair_chunks() -%}
    {%- set fixed = var('recommender_pair_chunks', 0) | int -%}
    {%- if fixed > 0 -%}
        {{ return(fixed) }}
    {%- endif -%}
    {#- not built yet (compiling for docs or the SQL lint), or a unit test's fixture: one chunk -#}
    {%- set events_relation = load_relation(ref('stg_events'))
        if execute and model.resource_type != 'unit_test' else none -%}
    {%- if events_relation is none -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set events = run_query("select count(*) from " ~ events_relation).columns[0].values()[0] -%}
    {{ return([1, ((events | int) + 2499999) // 2500000] | max) }}
{%- endmacro %}
