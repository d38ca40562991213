"""Combinations of candidates and the choice of one model per series, as evidence.

Combinations (``combination_mean``, ``combination_median``): at each origin, per series, the
mean or median of the :data:`COMBINE_TOP` pooled candidates with the lowest mean absolute
scaled error over the errors known at that origin (earlier forecasts whose target day has
passed); before any such error exists, of every statistical candidate that ran. So the members
are chosen without looking ahead, and the combination is backtested like any model.

Selection (per series and measure, on the backtest's per-day errors):

1. the *statistical incumbent*: the lowest MAE among the baselines and the statsforecast
   models (cheap, well-understood; ties to the simpler, :data:`COMPLEXITY_ORDER`);
2. a combination, a learned model (XGBoost, Random Forest, Prophet) or a reconciled forecast
   (``reconciled_best``, ``reconciled_median``) replaces it only when it
   *clearly* beats it: the upper bound of the 95 % bootstrap interval (resampling whole
   origins, paired on the same days) of its MAE minus the incumbent's is below 0. Among those
   that pass, the lowest MAE wins (ties to the simpler).

So the selected model is never worse on the backtest than the best statistical candidate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from amazing_analytics.ml.forecasting.estimators import BASELINE_MODELS, STAT_MODELS

COMBINATIONS: tuple[str, ...] = ("combination_median", "combination_mean")
#: MinT-reconciled candidates (see :mod:`.backtest`): of each node's best model known at the
#: origin, and of the median combination.
RECONCILED: tuple[str, ...] = ("reconciled_best", "reconciled_median")
COMBINE_TOP = 3
#: Simplest first: ties (and "not clearly better") go to the earlier model.
COMPLEXITY_ORDER: tuple[str, ...] = (
    "seasonal_naive",
    "moving_average",
    "auto_ets",
    "auto_theta",
    "auto_arima",
    "mstl",
    "combination_median",
    "combination_mean",
    "xgboost",
    "random_forest",
    "prophet",
    "reconciled_median",
    "reconciled_best",
)
STATISTICAL: tuple[str, ...] = BASELINE_MODELS + STAT_MODELS
BOOTSTRAP_REPLICATES = 1000
CONFIDENCE = 0.95


def combine(forecasts: np.ndarray, how: str) -> np.ndarray:
    """The mean or median over members (rows of ``forecasts``, members x horizon)."""
    if how == "combination_mean":
        return np.mean(forecasts, axis=0)
    if how == "combination_median":
        return np.median(forecasts, axis=0)
    raise ValueError(f"Unknown combination {how!r}; choose from {', '.join(COMBINATIONS)}.")


def choose_members(
    scores: Mapping[str, float], ran: Sequence[str], top: int = COMBINE_TOP
) -> list[str]:
    """The ``top`` models of ``ran`` with the lowest finite score (ties to the simpler); the
    statistical models of ``ran`` when fewer than two have a score."""
    order = {m: i for i, m in enumerate(COMPLEXITY_ORDER)}
    scored = [m for m in ran if math.isfinite(scores.get(m, math.nan))]
    if len(scored) < 2:
        return [m for m in ran if m in STATISTICAL] or list(ran)
    return sorted(scored, key=lambda m: (scores[m], order.get(m, len(order))))[:top]


@dataclass(frozen=True)
class ModelErrors:
    """Absolute errors of one model on one series, with the origin (cluster) and day of each."""

    origin: np.ndarray
    day: np.ndarray
    abs_error: np.ndarray

    @property
    def mae(self) -> float:
        return float(self.abs_error.mean()) if self.abs_error.size else math.nan


def _cluster_sums(errors: ModelErrors, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    clusters, index = np.unique(errors.origin, return_inverse=True)
    sums = np.bincount(index, weights=values, minlength=clusters.size)
    counts = np.bincount(index, minlength=clusters.size).astype(float)
    return sums, counts


def bootstrap_mean_interval(
    errors: ModelErrors, values: np.ndarray, seed: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """Percentile interval of the mean of ``values`` (one per error row), resampling origins."""
    if values.size == 0:
        return math.nan, math.nan
    sums, counts = _cluster_sums(errors, values)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, sums.size, size=(BOOTSTRAP_REPLICATES, sums.size))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1.0 - confidence) / 2.0
    return float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def mae_interval(errors: ModelErrors, seed: int) -> tuple[float, float]:
    """95 % bootstrap interval (resampling origins) of a model's backtest MAE."""
    return bootstrap_mean_interval(errors, errors.abs_error, seed)


def paired_difference(
    challenger: ModelErrors, incumbent: ModelErrors, seed: int
) -> tuple[float, float, float]:
    """MAE(challenger) - MAE(incumbent) on their common days, with its 95 % bootstrap interval."""
    key_c = challenger.origin.astype(np.int64) * 1_000_000 + challenger.day
    key_i = incumbent.origin.astype(np.int64) * 1_000_000 + incumbent.day
    _, ci, ii = np.intersect1d(key_c, key_i, assume_unique=True, return_indices=True)
    if ci.size == 0:
        return math.nan, math.nan, math.nan
    diff = challenger.abs_error[ci] - incumbent.abs_error[ii]
    paired = ModelErrors(incumbent.origin[ii], incumbent.day[ii], np.abs(diff))
    low, high = bootstrap_mean_interval(paired, diff, seed)
    return float(diff.mean()), low, high


def select_model(errors: Mapping[str, ModelErrors], seed: int = 42) -> tuple[str | None, str]:
    """The model chosen for one series (see the module docstring) and the reason in words."""
    order = {m: i for i, m in enumerate(COMPLEXITY_ORDER)}

    def key(m: str) -> tuple[float, int]:
        return (round(errors[m].mae, 9), order.get(m, len(order)))

    usable = [m for m, e in errors.items() if e.abs_error.size]
    statistical = [m for m in usable if m in STATISTICAL]
    if not statistical:
        if not usable:
            return None, "no model has backtest errors for this series"
        best = min(usable, key=key)
        return (
            best,
            f"{best}: lowest backtest MAE ({errors[best].mae:.4g}); no statistical candidate ran",
        )
    incumbent = min(statistical, key=key)
    reason = f"{incumbent}: lowest backtest MAE among the statistical candidates ({errors[incumbent].mae:.4g})"
    passed: list[str] = []
    notes: list[str] = []
    for challenger in sorted((m for m in usable if m not in STATISTICAL), key=key):
        if errors[challenger].mae >= errors[incumbent].mae:
            continue
        diff, _, high = paired_difference(errors[challenger], errors[incumbent], seed)
        if math.isfinite(high) and high < 0:
            passed.append(challenger)
        else:
            notes.append(
                f"{challenger} not clearly better ({diff:+.4g}, 95 % upper bound {high:+.4g})"
            )
    if passed:
        best = min(passed, key=key)
        diff, low, high = paired_difference(errors[best], errors[incumbent], seed)
        return best, (
            f"{best}: clearly beats {incumbent} (MAE {errors[best].mae:.4g} vs "
            f"{errors[incumbent].mae:.4g}, difference {diff:+.4g} [{low:+.4g}, {high:+.4g}])"
        )
    return incumbent, "; ".join([reason, *notes])
