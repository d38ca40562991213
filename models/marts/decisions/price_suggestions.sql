{#- The contracted (typed) price_suggestions for BI and the dashboard, from int_price_suggestions_scored. -#}

with estimated as (

    select * from {{ ref('int_price_suggestions_scored') }}

),

final as (

    select
        cast(product_id as bigint) as product_id,
        cast(brand as varchar) as brand,
        cast(category_code as varchar) as category_code,
        cast(category_level_2 as varchar) as category_level_2,
        cast(performance_label as varchar) as performance_label,
        cast(current_price as double) as current_price,
        cast(elasticity as double) as elasticity,
        cast(elasticity_ci_low as double) as elasticity_ci_low,
        cast(elasticity_ci_high as double) as elasticity_ci_high,
        cast(objective as varchar) as objective,
        cast(suggested_change as double) as suggested_change,
        cast(suggested_price as double) as suggested_price,
        cast(window_days as bigint) as window_days,
        cast(baseline_units as bigint) as baseline_units,
        cast(baseline_revenue as double) as baseline_revenue,
        cast(expected_units_change as double) as expected_units_change,
        cast(expected_revenue_change as double) as expected_revenue_change,
        cast(expected_revenue_delta as double) as expected_revenue_delta,
        cast(expected_revenue_delta_low as double) as expected_revenue_delta_low,
        cast(expected_revenue_delta_high as double) as expected_revenue_delta_high,
        cast(status as varchar) as status,
        cast(reason as varchar) as reason,
        cast(decision as varchar) as decision
    from estimated

)

select * from final
