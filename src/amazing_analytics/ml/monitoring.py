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
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy.optimize import linear_sum_assignment
from scipy.stats import norm

from amazing_analytics.ml import propensity, segmentation
from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.recommend.selection import bootstrap_interval, resample_indices

#: Two-sided 95 % intervals.
Z_95 = float(norm.ppf(0.975))
#: A bin with no observation counts as this share, so PSI stays finite (the usual convention).
PSI_EPSILON = 1e-4

INTERVAL_METHODS = ("wilson", "hanley_mcneil", "given", "bootstrap", "none")
#: Optional list columns of a slice row with interval_method 'bootstrap': per unit, the summed
#: metric and what it is averaged over.
UNIT_COLUMNS = ("unit_sums", "unit_counts")
#: A bootstrap over fewer units than this gives no interval (a percentile of 1-2 blocks is noise).
MIN_BOOTSTRAP_UNITS = 3


def wilson_interval(successes: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion successes / n (n > 0)."""
    if n <= 0:
        raise ValueError(f"n must be positive, got {n}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in 0..n, got {successes} of {n}")
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def auc_interval(
    auc: float, positives: int, negatives: int, z: float = Z_95
) -> tuple[float, float]:
    """Hanley & McNeil (1982) normal interval of an AUC from its numbers of positives/negatives."""
    if positives <= 0 or negatives <= 0:
        raise ValueError("an AUC interval needs at least one positive and one negative")
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (
        auc * (1 - auc) + (positives - 1) * (q1 - auc * auc) + (negatives - 1) * (q2 - auc * auc)
    ) / (positives * negatives)
    half = z * math.sqrt(max(variance, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


# --------------------------------------------------------------------------------------------
# Bias audit
# --------------------------------------------------------------------------------------------

SLICE_COLUMNS = (
    "model_family",
    "model",
    "slice_type",
    "slice",
    "metric",
    "higher_is_better",
    "value",
    "n",
    "successes",
    "positives",
    "negatives",
    "ci_low",
    "ci_high",
    "interval_method",
)

AUDIT_SCHEMA = pa.schema(
    [
        ("model_family", pa.string()),
        ("model", pa.string()),
        ("slice_type", pa.string()),
        ("slice", pa.string()),
        ("metric", pa.string()),
        ("higher_is_better", pa.bool_()),
        ("value", pa.float64()),
        ("ci_low", pa.float64()),
        ("ci_high", pa.float64()),
        ("n", pa.int64()),
        ("overall_value", pa.float64()),
        ("gap_to_overall", pa.float64()),
        ("best_value", pa.float64()),
        ("worst_value", pa.float64()),
        ("worst_to_best_ratio", pa.float64()),
        ("is_worst_slice", pa.bool_()),
        ("is_flagged", pa.bool_()),
        ("status", pa.string()),
        ("message", pa.string()),
    ]
)


@dataclass
class _Slice:
    model_family: str
    model: str
    slice_type: str
    slice: str
    metric: str
    higher_is_better: bool
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    status: str = "ok"
    message: str | None = None


def unit_bootstrap_interval(
    sums: Sequence[float], counts: Sequence[float], samples: int, seed: int
) -> tuple[float | None, float | None]:
    """Percentile 95 % interval of sum(sums) / sum(counts) with the units resampled (seeded).

    No interval with fewer than :data:`MIN_BOOTSTRAP_UNITS` units or no samples."""
    unit_sums = np.asarray(sums, np.float64)
    unit_counts = np.asarray(counts, np.float64)
    if unit_sums.shape != unit_counts.shape:
        raise ValueError("unit_sums and unit_counts must have the same length")
    if unit_sums.size < MIN_BOOTSTRAP_UNITS or samples <= 0:
        return None, None
    interval = bootstrap_interval(
        unit_sums, unit_counts, resample_indices(unit_sums.size, samples, seed)
    )
    return interval.low, interval.high


def _interval(row: dict, samples: int, seed: int) -> tuple[float | None, float | None]:
    method = row["interval_method"]
    value, n = row["value"], row["n"] or 0
    if method not in INTERVAL_METHODS:
        raise ValueError(f"unknown interval_method {method!r}; expected one of {INTERVAL_METHODS}")
    if value is None:
        return None, None
    if method == "wilson" and n > 0:
        successes = row["successes"] if row["successes"] is not None else value * n
        return wilson_interval(min(max(float(successes), 0.0), float(n)), float(n))
    if method == "hanley_mcneil" and (row["positives"] or 0) > 0 and (row["negatives"] or 0) > 0:
        return auc_interval(float(value), int(row["positives"]), int(row["negatives"]))
    if method == "given":
        return row["ci_low"], row["ci_high"]
    if method == "bootstrap" and row.get("unit_sums") is not None:
        return unit_bootstrap_interval(row["unit_sums"], row["unit_counts"] or [], samples, seed)
    return None, None


def _evidence(row: dict) -> int:
    """How many observations a slice's metric rests on: for an AUC, the rarer outcome."""
    if row["interval_method"] == "hanley_mcneil":
        return int(min(row["positives"] or 0, row["negatives"] or 0))
    return int(row["n"] or 0)


def _ratio(worst: float, best: float, higher_is_better: bool) -> float | None:
    """How the worst slice compares with the best, 1 = equal, smaller = worse (both directions)."""
    if higher_is_better:
        return worst / best if best > 0 else None
    return best / worst if worst > 0 else (1.0 if best == worst else None)


def audit_slices(
    slices: ArrowData,
    *,
    min_ratio: float,
    min_slice_size: int,
    bootstrap_samples: int = 1000,
    seed: int = 42,
) -> pa.Table:
    """``model_fairness_audit`` from per-slice metrics (one row per model × slice × metric).

    Input columns: :data:`SLICE_COLUMNS`; the overall row of each model and metric has
    ``slice_type = 'all'``. For every (model, metric, slice type) the slices with at least
    ``min_slice_size`` observations (for an AUC: buyers and non-buyers each) and a value are
    compared: ``worst_to_best_ratio`` is
    worst / best (best / worst for an error, where lower is better), and when it is below
    ``min_ratio`` the worst slice is flagged. A slice too small to judge gets status
    ``too_small`` and is not flagged; a model whose source reports no value, ``not_evaluated``.
    Rows with interval_method ``bootstrap`` carry :data:`UNIT_COLUMNS` and get a
    ``bootstrap_samples``-draw interval (seed ``seed``, the same draws for rows of as many units).
    """
    if not 0 < min_ratio <= 1:
        raise ValueError(f"min_ratio must be in (0, 1], got {min_ratio}")
    if min_slice_size < 1:
        raise ValueError(f"min_slice_size must be >= 1, got {min_slice_size}")
    table = as_table(slices)
    missing = [c for c in SLICE_COLUMNS if c not in table.column_names]
    if missing:
        raise ValueError(f"slice table lacks columns {missing}")
    if bootstrap_samples < 0:
        raise ValueError(f"bootstrap_samples must be >= 0, got {bootstrap_samples}")
    units = [c for c in UNIT_COLUMNS if c in table.column_names]
    rows = table.select([*SLICE_COLUMNS, *units]).to_pylist()
    parsed: list[_Slice] = []
    for row in rows:
        low, high = _interval(row, bootstrap_samples, seed)
        item = _Slice(
            model_family=row["model_family"],
            model=row["model"],
            slice_type=row["slice_type"],
            slice=row["slice"],
            metric=row["metric"],
            higher_is_better=bool(row["higher_is_better"]),
            value=None if row["value"] is None else float(row["value"]),
            n=int(row["n"] or 0),
            ci_low=low,
            ci_high=high,
        )
        if item.value is None:
            item.status = "not_evaluated"
            item.message = "no value: the metric cannot be computed on this slice (no model, or no buyer or no non-buyer in it)"
        elif item.slice_type != "all" and _evidence(row) < min_slice_size:
            item.status = "too_small"
            what = (
                "buyers or non-buyers"
                if row["interval_method"] == "hanley_mcneil"
                else "observations"
            )
            item.message = (
                f"only {_evidence(row):,} {what}, fewer than the {min_slice_size:,} needed to judge"
            )
        parsed.append(item)

    overall = {
        (s.model_family, s.model, s.metric): s.value for s in parsed if s.slice_type == "all"
    }
    groups: dict[tuple[str, str, str, str], list[_Slice]] = {}
    for s in parsed:
        if s.slice_type != "all":
            groups.setdefault((s.model_family, s.model, s.metric, s.slice_type), []).append(s)

    out: dict[str, list] = {field.name: [] for field in AUDIT_SCHEMA}
    judged: dict[int, tuple[float | None, float | None, float | None, bool, bool]] = {}
    for members in groups.values():
        comparable = [s for s in members if s.status == "ok"]
        if len(comparable) < 2:
            for s in members:
                judged[id(s)] = (None, None, None, False, False)
            continue
        higher = comparable[0].higher_is_better
        values = [s.value for s in comparable if s.value is not None]
        best = max(values) if higher else min(values)
        worst = min(values) if higher else max(values)
        ratio = _ratio(worst, best, higher)
        flagged = ratio is not None and ratio < min_ratio
        # the worst slice: ties go to the smaller slice (the least evidence), then by name
        worst_slice = min((s for s in comparable if s.value == worst), key=lambda s: (s.n, s.slice))
        for s in members:
            is_worst = s is worst_slice
            judged[id(s)] = (best, worst, ratio, is_worst, flagged and is_worst)
            if flagged and is_worst:
                s.message = (
                    f"{s.slice_type} '{s.slice}': {s.metric} {s.value:.4g} is "
                    f"{ratio:.1%} of the best slice ({best:.4g}), below the {min_ratio:.0%} threshold"
                )
    for s in parsed:
        best, worst, ratio, is_worst, flagged = judged.get(id(s), (None, None, None, False, False))
        reference = overall.get((s.model_family, s.model, s.metric))
        gap = None if s.value is None or reference is None else s.value - reference
        out["model_family"].append(s.model_family)
        out["model"].append(s.model)
        out["slice_type"].append(s.slice_type)
        out["slice"].append(s.slice)
        out["metric"].append(s.metric)
        out["higher_is_better"].append(s.higher_is_better)
        out["value"].append(s.value)
        out["ci_low"].append(s.ci_low)
        out["ci_high"].append(s.ci_high)
        out["n"].append(s.n)
        out["overall_value"].append(reference)
        out["gap_to_overall"].append(gap)
        out["best_value"].append(best)
        out["worst_value"].append(worst)
        out["worst_to_best_ratio"].append(ratio)
        out["is_worst_slice"].append(is_worst)
        out["is_flagged"].append(flagged)
        out["status"].append("flagged" if flagged else s.status)
        out["message"].append(s.message)
    return pa.table(out, schema=AUDIT_SCHEMA)


# --------------------------------------------------------------------------------------------
# Drift
# --------------------------------------------------------------------------------------------


def population_stability_index(
    expected: Sequence[float], actual: Sequence[float], epsilon: float = PSI_EPSILON
) -> float:
    """PSI = sum over bins of (a - e) * ln(a / e), with a, e the bins' shares.

    ``expected`` and ``actual`` are counts (or shares) per bin, in the same bin order; a share
    of 0 counts as ``epsilon``. 0 = same distribution; by convention < 0.1 stable, 0.1-0.25 a
    moderate shift, > 0.25 a major shift.
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    if e.shape != a.shape or e.ndim != 1 or len(e) == 0:
        raise ValueError("expected and actual must be two non-empty sequences of the same length")
    if (e < 0).any() or (a < 0).any() or e.sum() <= 0 or a.sum() <= 0:
        raise ValueError("bin counts must be >= 0 with a positive total")
    e_share = np.maximum(e / e.sum(), epsilon)
    a_share = np.maximum(a / a.sum(), epsilon)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))


def quantile_bins(training: np.ndarray, bins: int) -> np.ndarray:
    """Inner bin edges: the training distribution's quantiles, duplicates dropped."""
    if bins < 2:
        raise ValueError(f"bins must be >= 2, got {bins}")
    known = training[~np.isnan(training)]
    if len(known) == 0:
        return np.empty(0)
    edges = np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1])
    return np.unique(edges)


def binned_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin (right-closed at the edges), plus a last bin for missing values."""
    known = ~np.isnan(values)
    index = np.searchsorted(edges, values[known], side="left")
    counts = np.bincount(index, minlength=len(edges) + 1).astype(np.float64)
    return np.append(counts, float((~known).sum()))


def feature_psi(training: np.ndarray, latest: np.ndarray, bins: int) -> float:
    """PSI of one numeric variable, binned on the training window's quantiles (+ a null bin)."""
    edges = quantile_bins(training, bins)
    return population_stability_index(binned_counts(training, edges), binned_counts(latest, edges))


DRIFT_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("drift_type", pa.string()),
        ("variable", pa.string()),
        ("training_window", pa.string()),
        ("latest_window", pa.string()),
        ("training_rows", pa.int64()),
        ("latest_rows", pa.int64()),
        ("training_mean", pa.float64()),
        ("latest_mean", pa.float64()),
        ("psi", pa.float64()),
        ("psi_threshold", pa.float64()),
        ("is_drifted", pa.bool_()),
        ("status", pa.string()),
        ("message", pa.string()),
    ]
)


def _mean(values: np.ndarray) -> float | None:
    known = values[~np.isnan(values)]
    return float(known.mean()) if len(known) else None


def _drift_row(
    model: str,
    drift_type: str,
    variable: str,
    windows: tuple[str, str],
    sizes: tuple[int, int],
    means: tuple[float | None, float | None],
    psi: float | None,
    threshold: float,
    min_rows: int,
) -> dict:
    if min(sizes) < min_rows:
        status = "too_small"
        message = f"{min(sizes):,} rows in a window, fewer than the {min_rows:,} needed for a PSI"
        psi = None
    elif psi is None:
        status, message = "not_evaluated", "no distribution to compare"
    else:
        status = "drifted" if psi > threshold else "ok"
        message = (
            f"{variable}: PSI {psi:.3f} above {threshold:g} between {windows[0]} and {windows[1]}"
            if status == "drifted"
            else None
        )
    return {
        "model": model,
        "drift_type": drift_type,
        "variable": variable,
        "training_window": windows[0],
        "latest_window": windows[1],
        "training_rows": sizes[0],
        "latest_rows": sizes[1],
        "training_mean": means[0],
        "latest_mean": means[1],
        "psi": psi,
        "psi_threshold": threshold,
        "is_drifted": status == "drifted",
        "status": status,
        "message": message,
    }


def _window_label(table: pa.Table) -> str:
    dates = sorted({d for d in table.column("as_of_date").to_pylist() if d is not None})
    return f"features as of {dates[0]}" if len(dates) == 1 else "no data"


def build_feature_drift(
    snapshots: ArrowData,
    window_scores: ArrowData,
    segment_centroids: ArrowData,
    customer_segments: ArrowData,
    *,
    bins: int,
    psi_threshold: float,
    min_rows: int,
) -> pa.Table:
    """``feature_drift``: PSI of each propensity feature (its training snapshot vs the latest
    scoring snapshot), of the propensity score (served model on both windows), and of the
    segment shares (at fitting vs the customers assigned now)."""
    snaps = as_table(snapshots)
    snapshot = pc.field("snapshot")
    training = snaps.filter(snapshot == "final_train")
    latest = snaps.filter(snapshot == "score")
    windows = (_window_label(training), _window_label(latest))
    rows = []
    for feature in propensity.PROPENSITY_FEATURES:
        old = numeric_column(training, feature)
        new = numeric_column(latest, feature)
        psi = feature_psi(old, new, bins) if len(old) and len(new) else None
        rows.append(
            _drift_row(
                "purchase_propensity",
                "feature",
                feature,
                windows,
                (len(old), len(new)),
                (_mean(old), _mean(new)),
                psi,
                psi_threshold,
                min_rows,
            )
        )
    scores = as_table(window_scores)
    window = pc.field("score_window")
    old_scores = numeric_column(scores.filter(window == "training"), "purchase_probability")
    new_scores = numeric_column(scores.filter(window == "latest"), "purchase_probability")
    rows.append(
        _drift_row(
            "purchase_propensity",
            "prediction",
            "purchase_probability",
            ("served model on its training snapshot", "served model on the latest snapshot"),
            (len(old_scores), len(new_scores)),
            (_mean(old_scores), _mean(new_scores)),
            feature_psi(old_scores, new_scores, bins)
            if len(old_scores) and len(new_scores)
            else None,
            psi_threshold,
            min_rows,
        )
    )
    centroids = as_table(segment_centroids)
    assigned = as_table(customer_segments)
    fitted = dict(
        zip(
            centroids.column("segment_id").to_pylist(),
            centroids.column("segment_size").to_pylist(),
            strict=True,
        )
    )
    now_counts: dict[int, int] = {}
    for segment_id in assigned.column("segment_id").to_pylist():
        if segment_id in fitted:
            now_counts[segment_id] = now_counts.get(segment_id, 0) + 1
    ids = sorted(fitted)
    fitted_total, now_total = sum(fitted.values()), sum(now_counts.values())
    rows.append(
        _drift_row(
            "customer_segmentation",
            "prediction",
            "segment_share",
            ("customers at fitting", "customers assigned now"),
            (int(fitted_total), int(now_total)),
            (None, None),
            population_stability_index(
                [fitted[i] for i in ids], [now_counts.get(i, 0) for i in ids]
            )
            if ids and fitted_total > 0 and now_total > 0
            else None,
            psi_threshold,
            min_rows,
        )
    )
    return pa.Table.from_pylist(rows, schema=DRIFT_SCHEMA)


# --------------------------------------------------------------------------------------------
# Prediction drift over time
# --------------------------------------------------------------------------------------------

PREDICTION_DRIFT_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("variable", pa.string()),
        ("window_start_date", pa.date32()),
        ("window_end_date", pa.date32()),
        ("is_reference", pa.bool_()),
        ("category", pa.string()),
        ("rows", pa.int64()),
        ("mean", pa.float64()),
        ("p10", pa.float64()),
        ("p25", pa.float64()),
        ("p50", pa.float64()),
        ("p75", pa.float64()),
        ("p90", pa.float64()),
        ("share", pa.float64()),
        ("psi", pa.float64()),
        ("psi_threshold", pa.float64()),
        ("is_drifted", pa.bool_()),
        ("status", pa.string()),
        ("message", pa.string()),
    ]
)
#: The quantiles of the score distribution reported per window.
SCORE_QUANTILES = (0.10, 0.25, 0.50, 0.75, 0.90)


@dataclass(frozen=True)
class DriftSettings:
    """How prediction drift is judged (vars drift_window_days, drift_bins,
    drift_psi_threshold, drift_min_rows)."""

    window_days: int
    bins: int
    psi_threshold: float
    min_rows: int

    def __post_init__(self) -> None:
        if self.window_days < 1:
            raise ValueError(f"window_days must be >= 1, got {self.window_days}")
        if self.bins < 2:
            raise ValueError(f"bins must be >= 2, got {self.bins}")
        if self.psi_threshold <= 0:
            raise ValueError(f"psi_threshold must be > 0, got {self.psi_threshold}")
        if self.min_rows < 1:
            raise ValueError(f"min_rows must be >= 1, got {self.min_rows}")


def _judged(
    psi: float | None, sizes: tuple[int, int], settings: DriftSettings, what: str
) -> tuple[float | None, str, str | None]:
    """(psi, status, message) of one window against its reference."""
    if min(sizes) < settings.min_rows:
        return (
            None,
            "too_small",
            f"{min(sizes):,} rows in a window, fewer than the {settings.min_rows:,} needed for a PSI",
        )
    if psi is None:
        return None, "not_evaluated", "no distribution to compare"
    if psi > settings.psi_threshold:
        return psi, "drifted", f"{what}: PSI {psi:.3f} above {settings.psi_threshold:g}"
    return psi, "ok", None


def _drift_record(model: str, variable: str, start, end, reference: bool, category: str) -> dict:
    record = {field.name: None for field in PREDICTION_DRIFT_SCHEMA}
    record.update(
        model=model,
        variable=variable,
        window_start_date=start,
        window_end_date=end,
        is_reference=reference,
        category=category,
        is_drifted=False,
    )
    return record


def _score_stats(scores: np.ndarray) -> dict:
    if scores.size == 0:
        return {"mean": None} | {f"p{round(q * 100)}": None for q in SCORE_QUANTILES}
    quantiles = np.quantile(scores, SCORE_QUANTILES)
    return {"mean": float(scores.mean())} | {
        f"p{round(q * 100)}": float(v) for q, v in zip(SCORE_QUANTILES, quantiles, strict=True)
    }


def _score_series(
    window_features: pa.Table,
    reference_features: pa.Table,
    model: propensity.PropensityModel | None,
    settings: DriftSettings,
) -> list[dict]:
    """The served propensity model's scores at every cut-off, against its training snapshot."""
    dates = sorted({d for d in window_features.column("as_of_date").to_pylist() if d is not None})
    reference_date = (
        min(reference_features.column("as_of_date").to_pylist())
        if reference_features.num_rows
        else None
    )
    if model is None:
        out = []
        for date in dates:
            record = _drift_record(
                "purchase_propensity", "purchase_probability", date, date, False, "all"
            )
            rows = int(pc.sum(pc.equal(window_features.column("as_of_date"), date)).as_py())
            record.update(
                rows=rows,
                psi_threshold=settings.psi_threshold,
                status="not_evaluated",
                message="no trained propensity model to score the windows with",
            )
            out.append(record)
        return out
    reference_scores = propensity.predict_proba(model, reference_features)
    edges = quantile_bins(reference_scores, settings.bins)
    reference_counts = binned_counts(reference_scores, edges)
    reference = _drift_record(
        "purchase_propensity",
        "purchase_probability",
        reference_date,
        reference_date,
        True,
        "all",
    )
    reference.update(
        rows=int(reference_scores.size),
        psi=0.0 if reference_scores.size else None,
        psi_threshold=settings.psi_threshold,
        status="ok" if reference_scores.size >= settings.min_rows else "too_small",
        message="reference: the served model on its training snapshot",
        **_score_stats(reference_scores),
    )
    out = [reference]
    as_of = window_features.column("as_of_date")
    for date in dates:
        scores = propensity.predict_proba(model, window_features.filter(pc.equal(as_of, date)))
        psi = (
            population_stability_index(reference_counts, binned_counts(scores, edges))
            if scores.size and reference_scores.size
            else None
        )
        psi, status, message = _judged(
            psi,
            (int(reference_scores.size), int(scores.size)),
            settings,
            f"propensity scores as of {date} vs the training snapshot of {reference_date}",
        )
        record = _drift_record(
            "purchase_propensity", "purchase_probability", date, date, False, "all"
        )
        record.update(
            rows=int(scores.size),
            psi=psi,
            psi_threshold=settings.psi_threshold,
            is_drifted=status == "drifted",
            status=status,
            message=message,
            **_score_stats(scores),
        )
        out.append(record)
    return out


def _segment_series(
    dates: Sequence[dt.date],
    daily_activity: pa.Table,
    customer_segments: pa.Table,
    settings: DriftSettings,
) -> list[dict]:
    """Each window's active shoppers by served segment, the first window the reference."""
    segment_of = dict(
        zip(
            pc.cast(customer_segments.column("user_id"), pa.int64()).to_pylist(),
            pc.fill_null(customer_segments.column("segment_name"), "unknown").to_pylist(),
            strict=True,
        )
    )
    names = sorted(set(segment_of.values()))
    users = np.asarray(
        pc.cast(daily_activity.column("user_id"), pa.int64()).to_numpy(zero_copy_only=False)
    )
    days = np.asarray(
        pc.cast(daily_activity.column("activity_date").cast(pa.date32()), pa.int32()).to_numpy(
            zero_copy_only=False
        )
    )
    epoch = dt.date(1970, 1, 1)
    windows = []
    for end in sorted(dates):
        start = end - dt.timedelta(days=settings.window_days - 1)
        inside = (days >= (start - epoch).days) & (days <= (end - epoch).days)
        counts = dict.fromkeys(names, 0)
        for user in np.unique(users[inside]).tolist():
            if user in segment_of:
                counts[segment_of[user]] += 1
        windows.append((start, end, counts))
    out: list[dict] = []
    if not windows or not names:
        return out
    reference_counts = [windows[0][2][n] for n in names]
    for position, (start, end, counts) in enumerate(windows):
        total = sum(counts.values())
        now = [counts[n] for n in names]
        psi = (
            population_stability_index(reference_counts, now)
            if total and sum(reference_counts)
            else None
        )
        psi, status, message = _judged(
            psi,
            (int(sum(reference_counts)), int(total)),
            settings,
            f"segment shares of the shoppers active {start} to {end} vs the first window "
            f"({windows[0][0]} to {windows[0][1]})",
        )
        summary = _drift_record(
            "customer_segmentation", "segment_share", start, end, position == 0, "all"
        )
        summary.update(
            rows=int(total),
            psi=psi,
            psi_threshold=settings.psi_threshold,
            is_drifted=status == "drifted",
            status=status,
            message=message if position else "reference: the first window's active shoppers",
        )
        out.append(summary)
        for name in names:
            record = _drift_record(
                "customer_segmentation", "segment_share", start, end, position == 0, name
            )
            record.update(
                rows=counts[name],
                share=counts[name] / total if total else None,
                status="ok" if total else "not_evaluated",
            )
            out.append(record)
    return out


def build_prediction_drift(
    window_features: ArrowData,
    snapshots: ArrowData,
    model_table: ArrowData,
    daily_activity: ArrowData,
    customer_segments: ArrowData,
    settings: DriftSettings,
) -> pa.Table:
    """``prediction_drift``: the predictions' distribution over successive windows.

    - purchase_propensity: the served model's scores at every cut-off of ``window_features``
      (int_propensity_drift_snapshots): mean, quantiles and the PSI against its scores on its
      own training snapshot ('final_train' of ``snapshots``, the reference row), binned on
      the reference's quantiles;
    - customer_segmentation: per window of ``window_days`` days ending at each cut-off, the
      shoppers active in it by served segment (a row per segment with its share, and an 'all'
      row with the PSI against the first window).

    A window with fewer than ``min_rows`` rows is ``too_small``; above ``psi_threshold``,
    ``drifted``. No trained model: the score rows say ``not_evaluated``.
    """
    features = as_table(window_features)
    snaps = as_table(snapshots)
    reference_features = snaps.filter(pc.field("snapshot") == "final_train")
    model = propensity.model_from_table(as_table(model_table))
    rows = _score_series(features, reference_features, model, settings)
    dates = sorted({d for d in features.column("as_of_date").to_pylist() if d is not None})
    rows += _segment_series(dates, as_table(daily_activity), as_table(customer_segments), settings)
    return pa.Table.from_pylist(rows, schema=PREDICTION_DRIFT_SCHEMA)


# --------------------------------------------------------------------------------------------
# Per-person inputs
# --------------------------------------------------------------------------------------------

WINDOW_SCORES_SCHEMA = pa.schema(
    [
        ("score_window", pa.string()),
        ("user_id", pa.int64()),
        ("as_of_date", pa.date32()),
        ("purchase_probability", pa.float64()),
        ("label", pa.bool_()),
    ]
)


def _scored(window: str, model: propensity.PropensityModel, table: pa.Table) -> pa.Table:
    labels = (
        table.column("label").cast(pa.bool_())
        if "label" in table.column_names
        else pa.nulls(table.num_rows, pa.bool_())
    )
    return pa.table(
        {
            "score_window": pa.array([window] * table.num_rows, pa.string()),
            "user_id": table.column("user_id").cast(pa.int64()),
            "as_of_date": table.column("as_of_date").cast(pa.date32()),
            "purchase_probability": pa.array(propensity.predict_proba(model, table), pa.float64()),
            "label": labels,
        },
        schema=WINDOW_SCORES_SCHEMA,
    )


def build_window_scores(snapshots: ArrowData, model_table: ArrowData, seed: int) -> pa.Table:
    """Propensity scores per customer and window, for the bias audit and the drift.

    - ``holdout``: the evaluation model (trained on 'evaluation_train', as in
      propensity_evaluation) on the later 'final_train' snapshot, whose outcomes are known;
    - ``training`` / ``latest``: the served model on its training snapshot and on the latest.

    Empty windows when a model cannot be trained (too little data).
    """
    snaps = as_table(snapshots)
    snapshot = pc.field("snapshot")
    parts = [WINDOW_SCORES_SCHEMA.empty_table()]
    final_train = snaps.filter(snapshot == "final_train")
    try:
        evaluation_model = propensity.train_propensity(
            snaps.filter(snapshot == "evaluation_train"), seed=seed
        )
        parts.append(_scored("holdout", evaluation_model, final_train))
    except propensity.InsufficientDataError:
        pass
    served = propensity.model_from_table(as_table(model_table))
    if served is not None:
        parts.append(_scored("training", served, final_train))
        parts.append(_scored("latest", served, snaps.filter(snapshot == "score")))
    return pa.concat_tables(parts).combine_chunks()


REASSIGNMENT_SCHEMA = pa.schema(
    [
        ("user_id", pa.int64()),
        ("segment_id", pa.int64()),
        ("refit_segment_id", pa.int64()),
        ("is_same_segment", pa.bool_()),
    ]
)


def match_labels(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    """``other``'s cluster ids renamed to the reference's, maximising agreement (Hungarian)."""
    k = int(max(reference.max(initial=0), other.max(initial=0))) + 1
    contingency = np.zeros((k, k), dtype=np.int64)
    np.add.at(contingency, (other, reference), 1)
    rows, columns = linear_sum_assignment(-contingency)
    mapping = np.arange(k)
    mapping[rows] = columns
    return mapping[other]


def build_segment_reassignment(
    features: ArrowData, centroids: ArrowData, segment_actions: ArrowData, seed: int
) -> pa.Table:
    """Each customer's served segment and their segment when KMeans is refitted with another
    seed (``seed + 1``, same k, ids matched to the served ones): the stability by slice.
    ``segment_actions`` is the seed the refit names its segments with (the names are not used
    here). Empty when the segmentation fell back to RFM."""
    centroid_table = as_table(centroids)
    if centroid_table.num_rows == 0:
        return REASSIGNMENT_SCHEMA.empty_table()
    served = segmentation.model_from_table(centroid_table)
    feature_table = as_table(features)
    assigned = segmentation.assign_segments(feature_table, served)
    refit = segmentation.fit_segments(
        feature_table,
        served.k,
        seed + 1,
        action_copy=segmentation.action_copy_from_table(segment_actions),
    )
    reassigned = segmentation.assign_segments(feature_table, refit)
    reference = assigned.column("segment_id").to_numpy()
    matched = match_labels(reference, reassigned.column("segment_id").to_numpy())
    return pa.table(
        {
            "user_id": assigned.column("user_id"),
            "segment_id": pa.array(reference, pa.int64()),
            "refit_segment_id": pa.array(matched, pa.int64()),
            "is_same_segment": pa.array(reference == matched, pa.bool_()),
        },
        schema=REASSIGNMENT_SCHEMA,
    )
