{#-
    Products seen together in one session, both directions (product_id -> other_product_id),
    for the item-kNN baseline, "frequently bought together" and the session neighbours
    (session_item_neighbours and its evaluation copy rank neighbour_weight_nano: the pairs are
    joined once, macros/session_item_neighbours.sql), per split (evaluation_train, serving): the
    self-join within sessions of int_cooccurrence_session_products, which holds the windows, the
    opt-outs and the session-size bounds.
-#}

-- depends_on: {{ ref('stg_events') }}
-- (the product chunks are counted from it: macros/session_item_neighbours.sql)
with {{ co_visited_pairs(ref('int_cooccurrence_session_products'), ['evaluation_train', 'serving']) }}

select * from co_visited_pairs
