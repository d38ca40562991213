{#-
    What shoppers told the API they did with a product of an answer (POST /v1/feedback): one
    row per request id x product x action, the first time it was received (a click sent twice
    counts once). Empty when no file exists. The API only accepts request ids it signed. Which
    lines are kept is decided by the macro classified_feedback_lines, which
    recommendation_log_reconciliation counts from too.
-#}

with classified as (

    {{ classified_feedback_lines() }}

),

final as (

    select * exclude (outcome)
    from classified
    where outcome = 'kept'

)

select * from final
