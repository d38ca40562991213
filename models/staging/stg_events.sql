{{ config(materialized='view') }}
{#- One row per kept event: clean, de-duplicated, completed where it could be, never erased. -#}

with classified as (

    select * from {{ ref('base_events_classified') }}

),

clean as (

    select
        event_id,
        event_at,
        event_date,
        event_type,
        product_id,
        category_id,
        category_code,
        brand,
        price,
        user_id,
        session_id,
        is_category_code_imputed,
        is_category_id_imputed,
        is_brand_imputed,
        price_imputation_reason,
        is_session_derived,
        source_file
    from classified
    where reject_reason is null

)

select * from clean
