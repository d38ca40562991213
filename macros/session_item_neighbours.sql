{#-
    Item-to-item co-visitation within sessions, computed once for both of its uses:
    int_product_cooccurrence counts the sessions each ordered pair of products shares (item-kNN,
    "bought together") and sums its session-neighbour weight, from which session_item_neighbours
    (split 'serving') and the session evaluation's int_session_item_neighbours_train (split
    'evaluation_train') keep the top var('session_neighbours_top_n') neighbours per product, as
    (product_id, neighbour_product_id, neighbour_rank, score). The session evaluation judges the
    computation that serves. One self-join of the sessions per split, not one per use
    (benchmarks.md, ninth pass: the same rows, 8 CPU seconds less at 10M events, 58 at 30M).

    For every session (opt-outs left out; sessions with 2 to recommender_max_session_products
    distinct products; with var recommender_train_window_days > 0, only the events of the last
    that many days before the cut-off) and every ordered pair of distinct products (a, b) in it:
        pair weight = event weight of b in the session (its strongest event: view / cart /
                      purchase, vars recommender_weight_*)
                    x 0.5 ^ (session age in days at the split's reference date /
                             recommender_half_life_days)
                    x 1 if b was first seen after a in the session, else
                      var('session_neighbours_backward_weight') (what comes next counts most)
    score(a, b) = sum of the pair weights over sessions (in integer nano-units: a float sum
    depends on the order DuckDB adds the rows in). Ties by neighbour_product_id. The pairs are
    joined within sessions only, never a products x products matrix.
-#}

{#- The session x product rows the pairs are joined from, out of ``split_events``, a CTE of
    (split, reference_date, then the columns of co_visited_event_columns) rows: CTEs ending in
    ``pair_session_products`` (split, session_id, product_id, is_bought, event_weight,
    first_seen_at, recency_weight), only the sessions with 2 to
    recommender_max_session_products distinct products, each carrying its session's recency
    weight. The caller writes ``with ... split_events as (...),`` before it.
    int_cooccurrence_session_products stores these rows as a table for int_product_cooccurrence:
    every product chunk reads them twice, and held as a CTE they outgrew DuckDB's memory from
    about 30M events on and were read back from disk by every chunk (benchmarks.md, sixteenth
    pass). The session evaluation's own split (var session_eval_split_at, not the default)
    still joins them as a CTE: that path has not been run at that scale. -#}
{% macro co_visited_session_products(split_events) -%}
session_product_events as (

    select
        split,
        session_id,
        product_id,
        bool_or(event_type = 'purchase') as is_bought,
        max(event_weight) as event_weight,
        min(event_at) as first_seen_at,
        max(event_date) as last_event_date,
        any_value(reference_date) as reference_date
    from {{ split_events }}
    group by split, session_id, product_id

),

pair_sessions as (

    select
        split,
        session_id,
        {{ recommender_decay('max(last_event_date)', 'any_value(reference_date)') }} as recency_weight
    from session_product_events
    group by split, session_id
    having count(*) between 2 and {{ var('recommender_max_session_products') }}

),

pair_session_products as (

    select
        session_product_events.split,
        session_product_events.session_id,
        session_product_events.product_id,
        session_product_events.is_bought,
        session_product_events.event_weight,
        session_product_events.first_seen_at,
        pair_sessions.recency_weight
    from session_product_events
    inner join pair_sessions
        on session_product_events.split = pair_sessions.split
        and session_product_events.session_id = pair_sessions.session_id

)
{%- endmacro %}

{#- The pair aggregates of ``session_products``, a relation or CTE of
    co_visited_session_products' rows whose split is one of ``splits``: CTEs ending in
    ``co_visited_pairs`` (split, product_id, other_product_id, session_count,
    bought_together_count, neighbour_weight_nano).

    The pairs are joined and aggregated one split and one product chunk (product_pair_chunks)
    at a time, the chunk's filter on the left side before the join: no CTE holds all the
    joined pairs (at 10M events DuckDB materialised those 47.9M rows of a shared ``pairs`` CTE
    and spilled 3 GB of them), and the split is not a key of the join or the grouping
    (benchmarks.md, eleventh pass: the same rows, 20 s -> 12.5 s and 37.5 -> 24 CPU seconds). -#}
{% macro co_visited_pairs(session_products, splits) -%}
{%- set chunks = product_pair_chunks() %}

co_visited_pairs as (
    {%- for split in splits %}
    {%- for chunk in range(chunks) %}

    select
        '{{ split }}' as split,
        left_side.product_id,
        right_side.product_id as other_product_id,
        -- 32-bit counts: the recommenders read tens of millions of pairs into Python
        cast(count(*) as integer) as session_count,
        cast(count(*) filter (where left_side.is_bought and right_side.is_bought) as integer)
            as bought_together_count,
        cast(sum(cast(round(
            1e9 * right_side.event_weight * left_side.recency_weight
            * case
                when right_side.first_seen_at > left_side.first_seen_at then 1.0
                else {{ var('session_neighbours_backward_weight') }}
            end
        ) as bigint)) as bigint) as neighbour_weight_nano
    from (
        select * from {{ session_products }}
        where split = '{{ split }}' and product_id % {{ chunks }} = {{ chunk }}
    ) as left_side
    inner join (select * from {{ session_products }} where split = '{{ split }}') as right_side
        on left_side.session_id = right_side.session_id
        and left_side.product_id <> right_side.product_id
    group by left_side.product_id, right_side.product_id
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)
{%- endmacro %}

{#- The columns of stg_events (aliased ``events``) that co_visited_pairs reads. -#}
{% macro co_visited_event_columns(events) -%}
        {{ events }}.session_id,
        {{ events }}.product_id,
        {{ events }}.event_type,
        {{ events }}.event_at,
        {{ events }}.event_date,
        {{ recommender_event_weight(events ~ '.event_type') }} as event_weight
{%- endmacro %}

{% macro session_item_neighbours(split) -%}
{%- if split not in ('serving', 'evaluation_train') -%}
    {{ exceptions.raise_compiler_error("session_item_neighbours: split must be 'serving' or 'evaluation_train', got " ~ split) }}
{%- endif -%}
{%- set own_cutoff = split == 'evaluation_train' and session_eval_split_named() -%}
with
{%- if own_cutoff %}

-- var session_eval_split_at moves the session evaluation's split away from the batch
-- evaluation's, whose pairs int_product_cooccurrence holds: the pairs before it, computed here
neighbour_window as (

    select cutoff_at, cast(cutoff_at as date) as cutoff_date
    from (select {{ session_eval_cutoff() }} as cutoff_at)

),

split_events as (

    select
        'evaluation_train' as split,
        neighbour_window.cutoff_date as reference_date,
        {{ co_visited_event_columns('events') }}
    from {{ ref('stg_events') }} as events
    cross join neighbour_window
    where events.event_type in ('view', 'cart', 'purchase')
        and events.event_at < neighbour_window.cutoff_at
        {%- if var('recommender_train_window_days') | int > 0 %}
        and events.event_at >= neighbour_window.cutoff_at
            - to_days({{ var('recommender_train_window_days') | int }})
        {%- endif %}
        and events.user_id not in (
            select user_id from {{ ref('gdpr_personalisation_opt_outs') }} where user_id is not null
        )

),

{{ co_visited_session_products('split_events') }},

{{ co_visited_pairs('pair_session_products', ['evaluation_train']) }},

neighbour_pairs as (

    select product_id, other_product_id, neighbour_weight_nano from co_visited_pairs

),
{%- else %}

neighbour_pairs as (

    select product_id, other_product_id, neighbour_weight_nano
    from {{ ref('int_product_cooccurrence') }}
    where split = '{{ split }}'

),
{%- endif %}

{%- set chunks = product_pair_chunks() %}
{%- for chunk in range(chunks) %}

neighbour_ranked_{{ chunk }} as (

    select
        product_id,
        other_product_id as neighbour_product_id,
        cast(row_number() over (
            partition by product_id order by neighbour_weight_nano desc, other_product_id
        ) as integer) as neighbour_rank,
        neighbour_weight_nano / 1e9 as score
    from neighbour_pairs
    where product_id % {{ chunks }} = {{ chunk }}
        and neighbour_weight_nano > 0
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
