-- Exactly one model is selected per series and measure, and it is one that produced a forecast.
select series_id, measure, count(distinct model) filter (where is_selected) as selected_models
from {{ ref('sales_forecast') }}
group by series_id, measure
having count(distinct model) filter (where is_selected and yhat is not null) <> 1
    or count(distinct model) filter (where is_selected) <> 1
