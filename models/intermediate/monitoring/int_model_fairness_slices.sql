{#-
    The bias audit's input: one quality metric per model, slice type and slice, with what its
    interval needs (model_fairness_audit computes the intervals, gaps and flags). Slice types:
    segment, price_band, customer_type (new = no order yet, returning = at least one), and
    category_family (the shopper's preferred family; for the recommenders the family of the
    product to be recommended; for the forecasts the family series), plus the overall row
    (slice_type 'all'). Families are the first level of category_code, as everywhere else.
    One CTE per model family, unioned at the end: a new evaluated model is one more CTE.
    Shoppers are sliced by their current profile (customer_features, customer_segments).
-#}

with customer_slices as (

    select
        features.user_id,
        coalesce(segments.segment_name, 'unknown') as segment,
        coalesce(features.price_band, 'unknown') as price_band,
        case when features.is_buyer then 'returning' else 'new' end as customer_type,
        coalesce(features.preferred_category_family, 'unknown') as category_family
    from {{ ref('customer_features') }} as features
    left join {{ ref('customer_segments') }} as segments on features.user_id = segments.user_id

),

customer_slices_long as (

    select user_id, 'all' as slice_type, 'all' as slice from customer_slices
    union all
    select user_id, slice_type, slice
    from (
        unpivot customer_slices
        on segment, price_band, customer_type, category_family
        into name slice_type value slice
    )

),

{#-
    Propensity: AUC of the evaluation model on its hold-out snapshot (ties get average ranks).
    New vs returning is read at the snapshot's cut-off: today's would know the outcome.
-#}
propensity_holdout as (

    select user_id, as_of_date, purchase_probability, label
    from {{ ref('int_propensity_window_scores') }}
    where score_window = 'holdout'

),

propensity_customer_type as (

    select
        holdout.user_id,
        case when snapshots.order_count > 0 then 'returning' else 'new' end as customer_type
    from propensity_holdout as holdout
    inner join {{ ref('int_customer_propensity_snapshots') }} as snapshots
        on snapshots.snapshot = 'final_train' and holdout.user_id = snapshots.user_id

),

propensity_slices as (

    select slices.user_id, slices.slice_type, slices.slice
    from customer_slices_long as slices
    where slices.slice_type <> 'customer_type'
    union all
    select user_id, 'customer_type' as slice_type, customer_type as slice
    from propensity_customer_type

),

propensity_ranked as (

    select
        slices.slice_type,
        slices.slice,
        holdout.label,
        rank() over (partition by slices.slice_type, slices.slice order by holdout.purchase_probability)
        + (count(*) over (partition by slices.slice_type, slices.slice, holdout.purchase_probability) - 1) / 2.0
            as average_rank
    from propensity_holdout as holdout
    inner join propensity_slices as slices on holdout.user_id = slices.user_id

),

propensity as (

    select
        'propensity' as model_family,
        'purchase_propensity' as model,
        slice_type,
        slice,
        'auc' as metric,
        true as higher_is_better,
        case
            when count(*) filter (where label) > 0 and count(*) filter (where not label) > 0
                then (
                    sum(average_rank) filter (where label)
                    - count(*) filter (where label) * (count(*) filter (where label) + 1) / 2.0
                ) / (count(*) filter (where label) * count(*) filter (where not label))
        end as value,
        count(*) as n,
        null::double as successes,
        count(*) filter (where label) as positives,
        count(*) filter (where not label) as negatives,
        null::double as ci_low,
        null::double as ci_high,
        'hanley_mcneil' as interval_method
    from propensity_ranked
    group by slice_type, slice

),

{#- Segmentation: share of shoppers who keep their segment when KMeans is refitted with another seed. -#}
segmentation as (

    select
        'segmentation' as model_family,
        'customer_segmentation' as model,
        slices.slice_type,
        slices.slice,
        'stability_agreement' as metric,
        true as higher_is_better,
        avg(reassigned.is_same_segment::double) as value,
        count(*) as n,
        count(*) filter (where reassigned.is_same_segment)::double as successes,
        null::bigint as positives,
        null::bigint as negatives,
        null::double as ci_low,
        null::double as ci_high,
        'wilson' as interval_method
    from {{ ref('int_segment_reassignments') }} as reassigned
    inner join customer_slices_long as slices on reassigned.user_id = slices.user_id
    group by slices.slice_type, slices.slice

),

{#-
    Batch recommenders: the serving model's hit rate at k on the temporal split, per the
    evaluation's own slices (category_family: the family of the user's test products), with
    the evaluation's bootstrap interval over users.
-#}
batch_recommenders as (

    select
        'batch_recommender' as model_family,
        model,
        case slice_type when 'user_type' then 'customer_type' else slice_type end as slice_type,
        slice,
        'hit_rate_at_' || k as metric,
        true as higher_is_better,
        value,
        user_count as n,
        null::double as successes,
        null::bigint as positives,
        null::bigint as negatives,
        ci_low,
        ci_high,
        'given' as interval_method
    from {{ ref('recommender_evaluation') }}
    where metric = 'hit_rate' and status = 'ok' and user_count > 0 and is_selected

),

{#-
    Session recommenders: the served session model's hit rate at k on the next-item protocol,
    per session length, new vs returning and category family (of the item to predict), with the
    evaluation's bootstrap interval over sessions.
-#}
session_recommenders as (

    select
        'session_recommender' as model_family,
        model,
        case slice_type when 'user_type' then 'customer_type' else slice_type end as slice_type,
        slice,
        metric || '_at_' || k as metric,
        true as higher_is_better,
        value,
        session_count as n,
        null::double as successes,
        null::bigint as positives,
        null::bigint as negatives,
        ci_low,
        ci_high,
        'given' as interval_method
    from {{ ref('session_recommender_evaluation') }}
    where metric = 'hit_rate' and status = 'ok' and is_selected and session_count > 0

),

{#-
    Forecasts: backtest MASE of the model selected for each series, per category family (lower
    is better), pooled over the evaluated origins' days as in forecast_evaluation. The interval
    resamples the origins (each a block of consecutive, correlated days): per origin, the summed
    scaled errors and the days, in unit_sums / unit_counts.
-#}
selected_forecasts as (

    select distinct series_id, measure, model
    from {{ ref('forecast_evaluation') }}
    where is_selected and model not in ('selected', 'reconciled')

),

forecast_origin_errors as (

    select
        backtest.series_id,
        backtest.measure,
        backtest.origin_date,
        {{ exact_sum('abs(backtest.actual - backtest.yhat) / backtest.naive_scale', scale=9) }}
            as scaled_error_sum,
        count(*) as day_count
    from {{ ref('forecast_backtest') }} as backtest
    inner join selected_forecasts
        on backtest.series_id = selected_forecasts.series_id
        and backtest.measure = selected_forecasts.measure
        and backtest.model = selected_forecasts.model
    where backtest.status = 'ok'
        and not coalesce(backtest.is_calibration, false)
        and backtest.yhat is not null and isfinite(backtest.yhat)
        and backtest.naive_scale > 0 and isfinite(backtest.naive_scale)
        and (backtest.series_id = 'all' or backtest.series_id like 'family:%')
    group by all

),

forecasts as (

    select
        'forecasting' as model_family,
        'selected' as model,
        case when series_id = 'all' then 'all' else 'category_family' end as slice_type,
        case when series_id = 'all' then 'all' else substr(series_id, length('family:') + 1) end as slice,
        'mase_' || measure as metric,
        false as higher_is_better,
        {{ exact_sum('scaled_error_sum', scale=9) }} / sum(day_count) as value,
        sum(day_count) as n,
        null::double as successes,
        null::bigint as positives,
        null::bigint as negatives,
        null::double as ci_low,
        null::double as ci_high,
        'bootstrap' as interval_method,
        list(scaled_error_sum order by origin_date) as unit_sums,
        list(day_count::double order by origin_date) as unit_counts
    from forecast_origin_errors
    group by series_id, measure

),

final as (

    select * from propensity
    union all by name
    select * from segmentation
    union all by name
    select * from batch_recommenders
    union all by name
    select * from session_recommenders
    union all by name
    select * from forecasts

)

select * from final
