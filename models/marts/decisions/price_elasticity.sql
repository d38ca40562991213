{#- The contracted (typed) price_elasticity for BI and the dashboard, from int_price_elasticity_estimated. -#}

with estimated as (

    select * from {{ ref('int_price_elasticity_estimated') }}

),

final as (

    select
        cast(category_level_2 as varchar) as category_level_2,
        cast(days as bigint) as days,
        cast(units as bigint) as units,
        cast(log_price_sd as double) as log_price_sd,
        cast(price_index_min as double) as price_index_min,
        cast(price_index_max as double) as price_index_max,
        cast(elasticity as double) as elasticity,
        cast(std_error as double) as std_error,
        cast(elasticity_ci_low as double) as elasticity_ci_low,
        cast(elasticity_ci_high as double) as elasticity_ci_high,
        cast(interval_level as double) as interval_level,
        cast(p_value as double) as p_value,
        cast(status as varchar) as status,
        cast(reason as varchar) as reason
    from estimated

)

select * from final
