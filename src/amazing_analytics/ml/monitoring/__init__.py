"""Governance of the models: the bias audit by slice and drift monitoring (issue 13 §4-5).

- :func:`audit_slices` turns per-slice quality metrics (from ``int_model_fairness_slices``)
  into ``model_fairness_audit``: each slice's interval, its gap to the overall value, and a flag
  when the worst slice of a (model, slice type) falls below ``min_ratio`` of the best.
- :func:`population_stability_index` and :func:`build_feature_drift`: the PSI of each model
  input between its training window and the latest window, and of the predictions themselves
  (propensity scores, segment shares).
- :func:`build_prediction_drift`: the propensity scores' distribution and the segment shares
  over successive windows, each against a reference window (PSI), for a time-series chart.
- :func:`build_window_scores` and :func:`build_segment_reassignment`: the per-person inputs the
  audit and the drift need (hold-out propensity scores; a second-seed segmentation).

Intervals (95 %): Wilson score for proportions (the segmentation's agreement over shoppers),
Hanley & McNeil (1982) for AUC (over buyers and non-buyers); "given" keeps the bootstrap
interval the source evaluation computed (the batch recommenders resample users, the session
recommenders sessions); "bootstrap" resamples the units listed on the row (``unit_sums`` /
``unit_counts``: for the forecasts, the backtest origins, each one block of consecutive days)
and takes the percentile interval of sum(sums) / sum(counts).

One module per job: :mod:`.intervals` (Wilson, Hanley & McNeil, unit bootstrap),
:mod:`.bias_audit`, :mod:`.psi` (the index and its binning), :mod:`.feature_drift`,
:mod:`.prediction_drift`, :mod:`.window_scores` and :mod:`.segment_reassignment`. The names
below are re-exported so callers import them from ``amazing_analytics.ml.monitoring``.
"""

from __future__ import annotations

from amazing_analytics.ml.monitoring.bias_audit import (
    AUDIT_SCHEMA,
    INTERVAL_METHODS,
    SLICE_COLUMNS,
    UNIT_COLUMNS,
    audit_slices,
)
from amazing_analytics.ml.monitoring.feature_drift import DRIFT_SCHEMA, build_feature_drift
from amazing_analytics.ml.monitoring.intervals import (
    MIN_BOOTSTRAP_UNITS,
    Z_95,
    auc_interval,
    unit_bootstrap_interval,
    wilson_interval,
)
from amazing_analytics.ml.monitoring.prediction_drift import (
    PREDICTION_DRIFT_SCHEMA,
    SCORE_QUANTILES,
    CutOffFeatures,
    DriftSettings,
    build_prediction_drift,
)
from amazing_analytics.ml.monitoring.psi import (
    PSI_EPSILON,
    binned_counts,
    feature_psi,
    population_stability_index,
    quantile_bins,
)
from amazing_analytics.ml.monitoring.segment_reassignment import (
    REASSIGNMENT_SCHEMA,
    build_segment_reassignment,
    match_labels,
)
from amazing_analytics.ml.monitoring.window_scores import WINDOW_SCORES_SCHEMA, build_window_scores

__all__ = [
    "AUDIT_SCHEMA",
    "DRIFT_SCHEMA",
    "INTERVAL_METHODS",
    "MIN_BOOTSTRAP_UNITS",
    "PREDICTION_DRIFT_SCHEMA",
    "PSI_EPSILON",
    "REASSIGNMENT_SCHEMA",
    "SCORE_QUANTILES",
    "SLICE_COLUMNS",
    "UNIT_COLUMNS",
    "WINDOW_SCORES_SCHEMA",
    "Z_95",
    "CutOffFeatures",
    "DriftSettings",
    "auc_interval",
    "audit_slices",
    "binned_counts",
    "build_feature_drift",
    "build_prediction_drift",
    "build_segment_reassignment",
    "build_window_scores",
    "feature_psi",
    "match_labels",
    "population_stability_index",
    "quantile_bins",
    "unit_bootstrap_interval",
    "wilson_interval",
]
