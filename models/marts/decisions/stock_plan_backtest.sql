{#- The contracted (typed) stock_plan_backtest for BI and the dashboard, from int_stock_plan_backtested. -#}

with estimated as (

    select * from {{ ref('int_stock_plan_backtested') }}

),

final as (

    select
        cast(series_id as varchar) as series_id,
        cast(model as varchar) as model,
        cast(origins as bigint) as origins,
        cast(first_origin_date as date) as first_origin_date,
        cast(last_origin_date as date) as last_origin_date,
        cast(lead_time_days as bigint) as lead_time_days,
        cast(service_level as double) as service_level,
        cast(days as bigint) as days,
        cast(days_within_plan as bigint) as days_within_plan,
        cast(achieved_service_level as double) as achieved_service_level,
        cast(achieved_ci_low as double) as achieved_ci_low,
        cast(achieved_ci_high as double) as achieved_ci_high,
        cast(lead_times_covered as bigint) as lead_times_covered,
        cast(lead_time_service_level as double) as lead_time_service_level,
        cast(mean_lead_time_demand as double) as mean_lead_time_demand,
        cast(mean_reorder_point as double) as mean_reorder_point,
        cast(service_level_gap as double) as service_level_gap,
        cast(status as varchar) as status,
        cast(reason as varchar) as reason
    from estimated

)

select * from final
