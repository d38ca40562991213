{#-
    The spec's three objectives week by week: each full week's conversion rate, average basket
    and bounce rate against the baseline value and the target of kpi_objectives (one definition
    of the baseline period and of the objectives); the weekly rates are kpi_weekly's.
-#}

with weekly as (

    select week_start, conversion_rate, average_basket, bounce_rate
    from {{ ref('kpi_weekly') }}
    where not is_partial_week

),

objectives as (

    select
        kpi_name,
        kpi_order,
        baseline_start,
        baseline_end,
        baseline_value,
        objective_change,
        target_value
    from {{ ref('kpi_objectives') }}

),

weekly_values as (

    select week_start, 'conversion_rate' as kpi_name, conversion_rate as kpi_value from weekly
    union all
    select week_start, 'average_basket', average_basket from weekly
    union all
    select week_start, 'bounce_rate', bounce_rate from weekly

),

final as (

    select
        weekly_values.week_start,
        weekly_values.kpi_name,
        objectives.kpi_order,
        weekly_values.kpi_value,
        weekly_values.week_start between objectives.baseline_start and objectives.baseline_end as is_baseline_week,
        objectives.baseline_value,
        objectives.objective_change,
        objectives.target_value,
        weekly_values.kpi_value / nullif(objectives.baseline_value, 0) - 1 as change_vs_baseline,
        case
            when weekly_values.kpi_value is null or nullif(objectives.baseline_value, 0) is null then null
            when objectives.objective_change >= 0
                then round(weekly_values.kpi_value / objectives.baseline_value - 1, 9) >= objectives.objective_change
            else round(weekly_values.kpi_value / objectives.baseline_value - 1, 9) <= objectives.objective_change
        end as is_objective_met
    from weekly_values
    inner join objectives on weekly_values.kpi_name = objectives.kpi_name

)

select * from final
