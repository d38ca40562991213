{#- The served session neighbours: co-visitation within every session up to as_of_date, ranked
    from int_product_cooccurrence's serving pairs (macros/session_item_neighbours.sql holds the
    computation, shared with the evaluation's int_session_item_neighbours_train). The ranking
    runs in as many product chunks as the pairs were counted in, which stg_events' size sets. -#}
-- depends_on: {{ ref('stg_events') }}
{{ session_item_neighbours('serving') }}
