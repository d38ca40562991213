{#- The session neighbours the evaluation uses: the same computation as
    session_item_neighbours (macros/session_item_neighbours.sql), from the sessions before the
    test window only. -#}
{{ session_item_neighbours('evaluation_train') }}
