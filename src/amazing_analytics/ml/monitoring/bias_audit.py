"""The bias audit: per-slice quality metrics (``int_model_fairness_slices``) turned into
``model_fairness_audit``, each slice's interval, its gap to the overall value, and a flag when
the worst slice of a (model, slice type) falls below ``min_ratio`` of the best."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.guards import require_columns
from amazing_analytics.ml.monitoring.intervals import (
    auc_interval,
    unit_bootstrap_interval,
    wilson_interval,
)

INTERVAL_METHODS = ("wilson", "hanley_mcneil", "given", "bootstrap", "none")
#: Optional list columns of a slice row with interval_method 'bootstrap': per unit, the summed
#: metric and what it is averaged over.
UNIT_COLUMNS = ("unit_sums", "unit_counts")

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


#: What a slice's comparison gives: best, worst, ratio, is_worst_slice, is_flagged.
_Judgement = tuple[float | None, float | None, float | None, bool, bool]
_NOT_JUDGED: _Judgement = (None, None, None, False, False)


def _parse_slice(row: dict, min_slice_size: int, samples: int, seed: int) -> _Slice:
    """One input row with its interval, and its status when it cannot be judged."""
    low, high = _interval(row, samples, seed)
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
            "buyers or non-buyers" if row["interval_method"] == "hanley_mcneil" else "observations"
        )
        item.message = (
            f"only {_evidence(row):,} {what}, fewer than the {min_slice_size:,} needed to judge"
        )
    return item


def _judge_group(members: list[_Slice], min_ratio: float, judged: dict[int, _Judgement]) -> None:
    """Compare the judgeable slices of one (model, metric, slice type); flag the worst."""
    comparable = [s for s in members if s.status == "ok"]
    if len(comparable) < 2:
        for s in members:
            judged[id(s)] = _NOT_JUDGED
        return
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


def _audit_table(parsed: list[_Slice], judged: dict[int, _Judgement]) -> pa.Table:
    overall = {
        (s.model_family, s.model, s.metric): s.value for s in parsed if s.slice_type == "all"
    }
    out: dict[str, list] = {field.name: [] for field in AUDIT_SCHEMA}
    for s in parsed:
        best, worst, ratio, is_worst, flagged = judged.get(id(s), _NOT_JUDGED)
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
    require_columns(table, SLICE_COLUMNS, "the slice table")
    if bootstrap_samples < 0:
        raise ValueError(f"bootstrap_samples must be >= 0, got {bootstrap_samples}")
    units = [c for c in UNIT_COLUMNS if c in table.column_names]
    rows = table.select([*SLICE_COLUMNS, *units]).to_pylist()
    parsed = [_parse_slice(row, min_slice_size, bootstrap_samples, seed) for row in rows]
    groups: dict[tuple[str, str, str, str], list[_Slice]] = {}
    for s in parsed:
        if s.slice_type != "all":
            groups.setdefault((s.model_family, s.model, s.metric, s.slice_type), []).append(s)
    judged: dict[int, _Judgement] = {}
    for members in groups.values():
        _judge_group(members, min_ratio, judged)
    return _audit_table(parsed, judged)
