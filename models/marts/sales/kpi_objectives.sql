{#-
    Are the spec's objectives met? One row per objective: +10 % conversion rate, +8 % average
    basket, -20 % bounce rate (vars kpi_objective_*), the current period (the last
    kpi_current_weeks full weeks of data) against the baseline period (var kpi_baseline_start,
    default the first full week of data, for kpi_baseline_weeks weeks). Each period's rate is
    recomputed from its totals (sessions, orders, revenue) by kpi_ratios, the definition
    kpi_daily and kpi_weekly use, never averaged from weekly rates.
    An objective is met when the change reaches the objective in its direction (a fall for the
    bounce rate); without data for a period the status is 'no_data'.
-#}

with weekly as (

    select
        week_start,
        session_count,
        converted_session_count,
        bounced_session_count,
        order_count,
        revenue
    from {{ ref('kpi_weekly') }}
    where not is_partial_week

),

bounds as (

    select
        {%- if var('kpi_baseline_start', '') | string | trim %}
        date_trunc('week', cast('{{ var("kpi_baseline_start") }}' as date))::date as baseline_start,
        {%- else %}
        min(week_start) as baseline_start,
        {%- endif %}
        cast(baseline_start + interval ({{ var('kpi_baseline_weeks') }} * 7 - 1) day as date) as baseline_end,
        cast(max(week_start) - interval (({{ var('kpi_current_weeks') }} - 1) * 7) day as date) as current_start,
        cast(max(week_start) + interval 6 day as date) as current_end
    from weekly

),

periods as (

    select 'baseline' as period, baseline_start as period_start, baseline_end as period_end from bounds
    union all
    select 'current', current_start, current_end from bounds

),

weeks_in_periods as (

    select
        periods.period,
        weekly.*,
        weekly.week_start between periods.period_start and periods.period_end as is_in_period
    from periods
    cross join weekly

),

period_totals as (

    select
        period,
        count(*) filter (where is_in_period) as week_count,
        sum(session_count) filter (where is_in_period) as session_count,
        sum(converted_session_count) filter (where is_in_period) as converted_session_count,
        sum(bounced_session_count) filter (where is_in_period) as bounced_session_count,
        sum(order_count) filter (where is_in_period) as order_count,
        sum(revenue) filter (where is_in_period) as revenue
    from weeks_in_periods
    group by period

),

period_ratios as (

    select
        period,
        week_count,
        {{ kpi_ratios('period_totals', ratios=('conversion_rate', 'average_basket', 'bounce_rate')) }}
    from period_totals

),

period_values as (

    select period, week_count, 'conversion_rate' as kpi_name, conversion_rate as kpi_value from period_ratios
    union all
    select period, week_count, 'average_basket', average_basket from period_ratios
    union all
    select period, week_count, 'bounce_rate', bounce_rate from period_ratios

),

objectives as (

    select * from (
        values
            ('conversion_rate', 1, cast({{ var('kpi_objective_conversion_rate') }} as double)),
            ('average_basket', 2, cast({{ var('kpi_objective_average_basket') }} as double)),
            ('bounce_rate', 3, cast({{ var('kpi_objective_bounce_rate') }} as double))
    ) as objectives (kpi_name, kpi_order, objective_change)

),

kpi_values as (

    select
        objectives.kpi_name,
        objectives.kpi_order,
        objectives.objective_change,
        bounds.baseline_start,
        bounds.baseline_end,
        baseline.week_count as baseline_week_count,
        bounds.current_start,
        bounds.current_end,
        current_period.week_count as current_week_count,
        baseline.kpi_value as baseline_value,
        current_period.kpi_value as current_value
    from objectives
    cross join bounds
    inner join period_values as baseline
        on objectives.kpi_name = baseline.kpi_name and baseline.period = 'baseline'
    inner join period_values as current_period
        on objectives.kpi_name = current_period.kpi_name and current_period.period = 'current'

),

final as (

    select
        kpi_name,
        kpi_order,
        baseline_start,
        baseline_end,
        baseline_week_count,
        current_start,
        current_end,
        current_week_count,
        baseline_value,
        current_value,
        current_value / nullif(baseline_value, 0) - 1 as change_vs_baseline,
        objective_change,
        baseline_value * (1 + objective_change) as target_value,
        case
            when baseline_value is null or current_value is null or baseline_value = 0 then 'no_data'
            -- compared on the change rounded to 1e-9, so a value exactly on target is met
            -- whatever the last bits of the float division
            when objective_change >= 0 and round(current_value / baseline_value - 1, 9) >= objective_change then 'met'
            when objective_change < 0 and round(current_value / baseline_value - 1, 9) <= objective_change then 'met'
            else 'not_met'
        end as objective_status
    from kpi_values

)

select * from final
