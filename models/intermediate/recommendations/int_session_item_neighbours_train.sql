{#- The session neighbours the evaluation uses: the same computation as
    session_item_neighbours (macros/session_item_neighbours.sql), from the sessions before the
    session evaluation's split only: int_product_cooccurrence's evaluation_train pairs, or with
    var session_eval_split_at set, the sessions before that instant joined here (both ways'
    inputs are declared, whichever the var picks). -#}
-- depends_on: {{ ref('int_product_cooccurrence') }}
-- depends_on: {{ ref('stg_events') }}
-- depends_on: {{ ref('gdpr_personalisation_opt_outs') }}
{{ session_item_neighbours('evaluation_train') }}
