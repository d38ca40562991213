{{ config(severity='warn') }}
-- Not an error: a documented fallback. Shows in the build log, with the reason, when there was
-- nothing to forecast (every input line quarantined, or no input): forecast_backtest,
-- sales_forecast and forecast_feature_importance are empty, forecast_evaluation says why.
select distinct measure, model, reason
from {{ ref('forecast_evaluation') }}
where status = 'skipped' and reason like 'no data to forecast%'
