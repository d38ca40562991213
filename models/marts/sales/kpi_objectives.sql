{#-
    Are the spec's objectives met? One row per objective: +10 % conversion rate, +8 % average
    basket, -20 % bounce rate (vars kpi_objective_*), the current period (the last
    kpi_current_weeks full weeks of data) against the baseline period (var kpi_baseline_start,
    default the first full week of data, for kpi_baseline_weeks weeks). Each period's rate is
    recomputed from its totals (sessions, orders, revenue), never averaged from weekly rates.
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

period_totals as (

    select
        bounds.baseline_start,
        bounds.baseline_end,
        bounds.current_start,
        bounds.current_end,
        count(*) filter (where weekly.week_start between bounds.baseline_start and bounds.baseline_end) as baseline_week_count,
        count(*) filter (where weekly.week_start between bounds.current_start and bounds.current_end) as current_week_count,
        sum(weekly.session_count) filter (where weekly.week_start between bounds.baseline_start and bounds.baseline_end) as baseline_sessions,
        sum(weekly.converted_session_count) filter (where weekly.week_start between bounds.baseline_start and bounds.baseline_end) as baseline_converted,
        sum(weekly.bounced_session_count) filter (where weekly.week_start between bounds.baseline_start and bounds.baseline_end) as baseline_bounced,
        sum(weekly.order_count) filter (where weekly.week_start between bounds.baseline_start and bounds.baseline_end) as baseline_orders,
        sum(weekly.revenue) filter (where weekly.week_start between bounds.baseline_start and bounds.baseline_end) as baseline_revenue,
        sum(weekly.session_count) filter (where weekly.week_start between bounds.current_start and bounds.current_end) as current_sessions,
        sum(weekly.converted_session_count) filter (where weekly.week_start between bounds.current_start and bounds.current_end) as current_converted,
        sum(weekly.bounced_session_count) filter (where weekly.week_start between bounds.current_start and bounds.current_end) as current_bounced,
        sum(weekly.order_count) filter (where weekly.week_start between bounds.current_start and bounds.current_end) as current_orders,
        sum(weekly.revenue) filter (where weekly.week_start between bounds.current_start and bounds.current_end) as current_revenue
    from bounds
    cross join weekly
    group by all

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
        period_totals.baseline_start,
        period_totals.baseline_end,
        period_totals.baseline_week_count,
        period_totals.current_start,
        period_totals.current_end,
        period_totals.current_week_count,
        case objectives.kpi_name
            when 'conversion_rate' then period_totals.baseline_converted / nullif(period_totals.baseline_sessions, 0)
            when 'average_basket' then period_totals.baseline_revenue / nullif(period_totals.baseline_orders, 0)
            when 'bounce_rate' then period_totals.baseline_bounced / nullif(period_totals.baseline_sessions, 0)
        end as baseline_value,
        case objectives.kpi_name
            when 'conversion_rate' then period_totals.current_converted / nullif(period_totals.current_sessions, 0)
            when 'average_basket' then period_totals.current_revenue / nullif(period_totals.current_orders, 0)
            when 'bounce_rate' then period_totals.current_bounced / nullif(period_totals.current_sessions, 0)
        end as current_value
    from objectives
    cross join period_totals

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
