{#-
    The answers the API gave (its impression log, macro read_feedback_log): one row per answer,
    its products in the order shown. Empty when no file exists. Erased shoppers are dropped; the
    API already logs opted-out and erased shoppers without their id. A request id seen twice
    (a file copied by hand) is kept once.
-#}

with source as (

    {{ read_feedback_log('impressions') }}

),

erased as (

    select distinct user_id from {{ ref('gdpr_erasure_requests') }}

),

renamed as (

    select
        source.request_id,
        -- ISO-8601 UTC with a Z, as the API writes it
        cast(replace(replace(source.served_at, 'T', ' '), 'Z', '') as timestamp) as served_at,
        source.user_id,
        coalesce(source.items, []) as product_ids,
        source.model as model_name,
        source.build_id,
        source.route
    from source
    where source.request_id is not null
        and source.served_at is not null
        and (source.user_id is null or source.user_id not in (select erased.user_id from erased))
    qualify row_number() over (partition by source.request_id order by source.served_at) = 1

)

select * from renamed
