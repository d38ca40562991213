"""Every chart of the dashboard: a function that takes a table and returns an Altair chart.

No Streamlit here, so each chart is tested without a browser (its title, axes and data are in
``chart.to_dict()``). Titles and axis titles come from :mod:`texts`, axis units are in the axis
titles, number formats follow the language through Vega-Lite's ``config.locale``.

One module per subject: ``style`` (the common look, :func:`finish`), ``sales`` (KPIs, revenue,
the focus brand, forecasts), ``segments`` (segments, RFM grid, audiences), ``models`` (model
evaluations, the bias audit, importances) and ``quality`` (the data audit); the package
re-exports every chart, so the pages call ``charts.<name>``.
"""

from amazing_analytics.dashboard.charts.models import (
    error_by_model_chart,
    importance_chart,
    model_comparison_chart,
    slice_chart,
    slice_type_label,
)
from amazing_analytics.dashboard.charts.quality import quality_checks_chart
from amazing_analytics.dashboard.charts.sales import (
    brand_share_chart,
    brand_share_heatmap,
    forecast_chart,
    kpi_objective_chart,
    weekly_revenue_chart,
)
from amazing_analytics.dashboard.charts.segments import (
    audience_heatmap,
    rfm_heatmap,
    segment_colours,
    segment_map_chart,
    segment_size_chart,
)
from amazing_analytics.dashboard.charts.style import BAR_STEP, HEIGHT, MET_COLOURS, finish

__all__ = [
    "BAR_STEP",
    "HEIGHT",
    "MET_COLOURS",
    "audience_heatmap",
    "brand_share_chart",
    "brand_share_heatmap",
    "error_by_model_chart",
    "finish",
    "forecast_chart",
    "importance_chart",
    "kpi_objective_chart",
    "model_comparison_chart",
    "quality_checks_chart",
    "rfm_heatmap",
    "segment_colours",
    "segment_map_chart",
    "segment_size_chart",
    "slice_chart",
    "slice_type_label",
    "weekly_revenue_chart",
]
