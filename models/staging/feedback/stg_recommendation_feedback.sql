{#-
    What shoppers told the API they did with a product of an answer (POST /v1/feedback): one
    row per request id x product x action, the first time it was received (a click sent twice
    counts once). Empty when no file exists. The API only accepts request ids it signed.
-#}

with source as (

    {{ read_feedback_log('feedback') }}

),

renamed as (

    select
        source.request_id,
        source.product_id,
        lower(source.action) as action,
        cast(replace(replace(source.received_at, 'T', ' '), 'Z', '') as timestamp) as received_at
    from source
    where source.request_id is not null
        and source.product_id is not null
        and lower(source.action) in ('click', 'cart', 'purchase')
    qualify row_number() over (
        partition by source.request_id, source.product_id, lower(source.action)
        order by source.received_at
    ) = 1

)

select * from renamed
