{#-
    Daily data-volume and quality anomalies, from the audit's tables: per event day, the kept
    events, the share of lines quarantined and the share of kept events with an imputed value,
    each against the median of the var anomaly_baseline_days days before it. A day is an anomaly
    when its robust z-score (distance to that median in units of 1.4826 x the median absolute
    deviation, floored so a constant history does not divide by zero) exceeds var
    anomaly_z_threshold; a day with fewer than var anomaly_min_baseline_days days of history is
    not judged.
-#}

{%- set baseline_days = var('anomaly_baseline_days') | int %}

with events as (

    select event_date, price_imputation_reason, is_category_code_imputed
    from {{ ref('stg_events') }}

),

quarantine as (

    select try_cast(left(event_time, 19) as timestamp)::date as event_date
    from {{ ref('events_quarantine') }}

),

kept_daily as (

    select
        event_date,
        count(*) as kept_rows,
        count(*) filter (where price_imputation_reason is not null or is_category_code_imputed) as imputed_rows
    from events
    group by event_date

),

quarantined_daily as (

    select event_date, count(*) as quarantined_rows
    from quarantine
    where event_date is not null
    group by event_date

),

calendar as (

    select day::date as metric_date
    from (select min(event_date) as first_day, max(event_date) as last_day from kept_daily) as bounds,
        range(bounds.first_day, bounds.last_day + interval 1 day, interval 1 day) as days(day)
    where bounds.first_day is not null

),

daily as (

    select
        calendar.metric_date,
        coalesce(kept_daily.kept_rows, 0) as kept_rows,
        coalesce(kept_daily.imputed_rows, 0) as imputed_rows,
        coalesce(quarantined_daily.quarantined_rows, 0) as quarantined_rows
    from calendar
    left join kept_daily on calendar.metric_date = kept_daily.event_date
    left join quarantined_daily on calendar.metric_date = quarantined_daily.event_date

),

metrics as (

    select metric_date, 'kept_events' as metric, kept_rows::double as value, 1.0 as scale_floor
    from daily
    union all
    select
        metric_date,
        'quarantine_share' as metric,
        quarantined_rows / nullif(kept_rows + quarantined_rows, 0) as value,
        0.001 as scale_floor
    from daily
    union all
    select metric_date, 'imputed_share' as metric, imputed_rows / nullif(kept_rows, 0) as value, 0.001 as scale_floor
    from daily

),

baseline as (

    select
        current_day.metric,
        current_day.metric_date,
        median(history.value) as baseline_median,
        count(history.value) as baseline_days
    from metrics as current_day
    left join metrics as history
        on history.metric = current_day.metric
        and history.metric_date between current_day.metric_date - {{ baseline_days }} and current_day.metric_date - 1
    group by current_day.metric, current_day.metric_date

),

deviation as (

    select
        baseline.metric,
        baseline.metric_date,
        median(abs(history.value - baseline.baseline_median)) as baseline_mad
    from baseline
    left join metrics as history
        on history.metric = baseline.metric
        and history.metric_date between baseline.metric_date - {{ baseline_days }} and baseline.metric_date - 1
    group by baseline.metric, baseline.metric_date

),

scored as (

    select
        metrics.metric_date,
        metrics.metric,
        metrics.value,
        baseline.baseline_median,
        deviation.baseline_mad,
        baseline.baseline_days,
        (metrics.value - baseline.baseline_median)
        / greatest(1.4826 * coalesce(deviation.baseline_mad, 0), metrics.scale_floor) as robust_z
    from metrics
    inner join baseline on metrics.metric = baseline.metric and metrics.metric_date = baseline.metric_date
    inner join deviation on metrics.metric = deviation.metric and metrics.metric_date = deviation.metric_date

),

final as (

    select
        metric_date,
        metric,
        value,
        baseline_median,
        baseline_mad,
        baseline_days,
        case when baseline_days >= {{ var('anomaly_min_baseline_days') }} then robust_z end as robust_z,
        coalesce(
            baseline_days >= {{ var('anomaly_min_baseline_days') }} and abs(robust_z) > {{ var('anomaly_z_threshold') }},
            false
        ) as is_anomaly,
        case
            when value is null then 'no_data'
            when baseline_days < {{ var('anomaly_min_baseline_days') }} then 'too_little_history'
            when abs(robust_z) > {{ var('anomaly_z_threshold') }} then 'anomaly'
            else 'ok'
        end as status
    from scored

)

select * from final
