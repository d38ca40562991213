"""``prediction_drift``: the propensity scores' distribution and the segment shares over
successive windows, each against a reference window (PSI), for a time-series chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml import propensity
from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.monitoring.psi import (
    binned_counts,
    population_stability_index,
    quantile_bins,
)

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


@dataclass(frozen=True)
class CutOffFeatures:
    """The drift snapshots' features one cut-off at a time: the cut-off dates, and
    ``read(date)`` -> that cut-off's rows. The dbt model reads each cut-off from the warehouse
    when it is scored (the eight cut-offs together are 42M rows of 18 columns at 100M events,
    about 6 GB as Arrow); tests and small inputs pass a table (:meth:`from_table`)."""

    dates: tuple[dt.date, ...]
    read: Callable[[dt.date], ArrowData]

    @classmethod
    def from_table(cls, features: ArrowData) -> CutOffFeatures:
        table = as_table(features)
        as_of = table.column("as_of_date")
        dates = tuple(sorted({d for d in as_of.to_pylist() if d is not None}))
        return cls(dates, lambda date: table.filter(pc.equal(as_of, date)))


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


def _unscored_series(cut_offs: CutOffFeatures, settings: DriftSettings) -> list[dict]:
    """Without a trained model: a 'not_evaluated' score row per cut-off, with its row count."""
    out = []
    for date in cut_offs.dates:
        record = _drift_record(
            "purchase_propensity", "purchase_probability", date, date, False, "all"
        )
        rows = as_table(cut_offs.read(date)).num_rows
        record.update(
            rows=rows,
            psi_threshold=settings.psi_threshold,
            status="not_evaluated",
            message="no trained propensity model to score the windows with",
        )
        out.append(record)
    return out


def _reference_score_record(
    reference_date: dt.date | None, reference_scores: np.ndarray, settings: DriftSettings
) -> dict:
    """The reference row: the served model's scores on its own training snapshot."""
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
    return reference


def _score_series(
    cut_offs: CutOffFeatures,
    reference: pa.Table,
    model: propensity.PropensityModel | None,
    settings: DriftSettings,
) -> list[dict]:
    """The served propensity model's scores at every cut-off, against its scores on its
    training snapshot (``reference``: as_of_date, purchase_probability)."""
    reference_date = min(reference.column("as_of_date").to_pylist()) if reference.num_rows else None
    if model is None:
        return _unscored_series(cut_offs, settings)
    # sorted: the same scores give the same summary whatever order the warehouse returns them in
    reference_scores = np.sort(numeric_column(reference, "purchase_probability"))
    edges = quantile_bins(reference_scores, settings.bins)
    reference_counts = binned_counts(reference_scores, edges)
    out = [_reference_score_record(reference_date, reference_scores, settings)]
    for date in cut_offs.dates:
        scores = propensity.predict_proba(model, as_table(cut_offs.read(date)))
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


def _segment_windows(
    dates: Sequence[dt.date],
    daily_activity: pa.Table,
    customer_segments: pa.Table,
    settings: DriftSettings,
) -> tuple[list[str], list[tuple[dt.date, dt.date, dict[str, int]]]]:
    """The segment names, and per window ending at each date: (start, end, shoppers by segment)."""
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
    return names, windows


def _segment_series(
    dates: Sequence[dt.date],
    daily_activity: pa.Table,
    customer_segments: pa.Table,
    settings: DriftSettings,
) -> list[dict]:
    """Each window's active shoppers by served segment, the first window the reference."""
    names, windows = _segment_windows(dates, daily_activity, customer_segments, settings)
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
    window_features: ArrowData | CutOffFeatures,
    window_scores: ArrowData,
    model_table: ArrowData,
    daily_activity: ArrowData,
    customer_segments: ArrowData,
    settings: DriftSettings,
) -> pa.Table:
    """``prediction_drift``: the predictions' distribution over successive windows.

    - purchase_propensity: the served model's scores at every cut-off of ``window_features``
      (int_propensity_drift_snapshots): mean, quantiles and the PSI against its scores on its
      own training snapshot (the ``training`` window of ``window_scores``,
      int_propensity_window_scores: read, not scored again; the reference row), binned on the
      reference's quantiles;
    - customer_segmentation: per window of ``window_days`` days ending at each cut-off, the
      shoppers active in it by served segment (a row per segment with its share, and an 'all'
      row with the PSI against the first window).

    A window with fewer than ``min_rows`` rows is ``too_small``; above ``psi_threshold``,
    ``drifted``. No trained model: the score rows say ``not_evaluated``.
    """
    cut_offs = (
        window_features
        if isinstance(window_features, CutOffFeatures)
        else CutOffFeatures.from_table(window_features)
    )
    scores = as_table(window_scores)
    reference = scores.filter(pc.field("score_window") == "training")
    model = propensity.model_from_table(as_table(model_table))
    rows = _score_series(cut_offs, reference, model, settings)
    rows += _segment_series(
        list(cut_offs.dates), as_table(daily_activity), as_table(customer_segments), settings
    )
    return pa.Table.from_pylist(rows, schema=PREDICTION_DRIFT_SCHEMA)
