{#-
    The answers the API gave (its impression log, macro read_feedback_log): one row per answer,
    its products in the order shown. Empty when no file exists. Erased shoppers are dropped; the
    API already logs opted-out and erased shoppers without their id. A request id seen twice
    (a file copied by hand) is kept once. Which lines are kept is decided by the macro
    classified_impression_lines, which recommendation_log_reconciliation counts from too.
-#}

with classified as (

    {{ classified_impression_lines() }}

),

final as (

    select * exclude (outcome)
    from classified
    where outcome = 'counted'

)

select * from final
