{#- The served session neighbours: co-visitation within every session up to as_of_date
    (macros/session_item_neighbours.sql holds the computation, shared with the evaluation's
    int_session_item_neighbours_train). -#}
{{ session_item_neighbours('serving') }}
