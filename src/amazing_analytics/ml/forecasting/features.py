"""Features of the global tree models (direct strategy, everything relative to the origin).

For a target day ``t = o + h`` from origin ``o``: the measure's lags 7/14/21/28 are ``y[t-L]``
when ``t-L <= o``, otherwise the latest same-weekday value at or before the origin
(``y[t-L-7m]``, smallest ``m``); the mean of the last four same-weekday values; rolling means
over 7 and 28 days and the 28-day standard deviation ending at the origin; the last value;
views (a leading indicator of purchases): the same-weekday lag 7, the 7-day mean and the
7-day / 28-day ratio; the mean price index of the 7 days up to the origin; the target's calendar
(known in advance, :data:`~.panel.CALENDAR_FEATURES`), ``h`` and the series' hierarchy level.
Measures and views are divided by the series' mean over the training window (one model fits
series of very different sizes; predictions are scaled back). No feature reads data after ``o``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from amazing_analytics.ml.arrow_utils import ArrowData
from amazing_analytics.ml.forecasting.panel import (
    CALENDAR_FEATURES,
    Panel,
    build_panel,
    check_measure,
    window_scale,
)

LAGS: tuple[int, ...] = (7, 14, 21, 28)
LEVEL_CODES: dict[str, int] = {"all": 0, "category_family": 1, "category": 2, "brand": 3}
FEATURES: tuple[str, ...] = (
    "horizon",
    "series_level_code",
    *(f"y_lag_{lag}" for lag in LAGS),
    "y_same_weekday_mean_4",
    "y_last",
    "y_mean_7",
    "y_mean_28",
    "y_std_28",
    "views_lag_7",
    "views_mean_7",
    "views_trend_7_28",
    "price_index_mean_7",
    *CALENDAR_FEATURES,
)
#: A training example needs 28 days up to its own origin (the 28-day rolling statistics).
FEATURE_WARMUP_DAYS = 28
#: Days of history the tree models need at the origin (warm-up plus a few weeks of examples).
TREE_MIN_HISTORY_DAYS = 56


def lag_index(target: np.ndarray, origin: np.ndarray, lag: int) -> np.ndarray:
    """``t - lag`` when at or before the origin, else the latest same-weekday day at/before it."""
    index = target - lag
    excess = np.maximum(index - origin, 0)
    return index - 7 * ((excess + 6) // 7)


def _window(cumsum: np.ndarray, s: np.ndarray, end: np.ndarray, days: int) -> np.ndarray:
    return (cumsum[s, end + 1] - cumsum[s, end + 1 - days]) / days


def _cumsum(grid: np.ndarray) -> np.ndarray:
    zero = np.zeros((grid.shape[0], 1))
    return np.concatenate([zero, np.cumsum(grid, axis=1)], axis=1)


def feature_matrix(
    panel: Panel,
    measure: str,
    rows: tuple[np.ndarray, np.ndarray, np.ndarray],
    y_scale: np.ndarray,
    v_scale: np.ndarray,
) -> np.ndarray:
    """Features for rows (series ``s``, origin ``o``, horizon ``h``); reads days <= ``o`` only.

    Needs ``o - start[s] + 1 >= FEATURE_WARMUP_DAYS`` for every row.
    """
    s, o, h = rows
    y = np.nan_to_num(panel.values[measure]) / y_scale[:, None]
    v = np.nan_to_num(panel.values["views"]) / v_scale[:, None]
    price = panel.values["price_index"]
    y_cum, y2_cum, v_cum = _cumsum(y), _cumsum(y * y), _cumsum(v)
    p_cum, p_cnt = _cumsum(np.nan_to_num(price)), _cumsum((~np.isnan(price)).astype(float))
    t = o + h
    codes = np.array([LEVEL_CODES.get(level, 4) for level in panel.levels], dtype=float)
    col: dict[str, np.ndarray] = {"horizon": h, "series_level_code": codes[s]}
    for lag in LAGS:
        col[f"y_lag_{lag}"] = y[s, lag_index(t, o, lag)]
    same = lag_index(t, o, 7)
    col["y_same_weekday_mean_4"] = np.mean([y[s, same - 7 * k] for k in range(4)], axis=0)
    col["y_last"] = y[s, o]
    col["y_mean_7"] = _window(y_cum, s, o, 7)
    col["y_mean_28"] = _window(y_cum, s, o, 28)
    col["y_std_28"] = np.sqrt(np.maximum(_window(y2_cum, s, o, 28) - col["y_mean_28"] ** 2, 0.0))
    col["views_lag_7"] = v[s, same]
    col["views_mean_7"] = _window(v_cum, s, o, 7)
    views_28 = _window(v_cum, s, o, 28)
    col["views_trend_7_28"] = np.where(
        views_28 > 0, col["views_mean_7"] / np.where(views_28 > 0, views_28, 1.0), 1.0
    )
    count = p_cnt[s, o + 1] - p_cnt[s, o - 6]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_price = (p_cum[s, o + 1] - p_cum[s, o - 6]) / count
    col["price_index_mean_7"] = np.where(count > 0, mean_price, 1.0)
    for name in CALENDAR_FEATURES:
        col[name] = panel.calendar[name][t]
    return np.column_stack([np.asarray(col[f], dtype=np.float64) for f in FEATURES]).astype(
        np.float32
    )


@dataclass(frozen=True)
class FeatureSet:
    """Training rows and forecast rows of the global tree models at one origin.

    ``train_*`` arrays describe training examples (series code, example origin, horizon); the
    targets ``train_y`` are divided by ``y_scale`` of their series. ``future_X`` holds one row per
    (eligible series, h = 1..horizon), in that order; ``future_series`` gives the series codes.
    """

    train_X: np.ndarray
    train_y: np.ndarray
    train_series: np.ndarray
    train_origin: np.ndarray
    train_horizon: np.ndarray
    future_X: np.ndarray
    future_series: np.ndarray
    future_horizon: np.ndarray
    y_scale: np.ndarray
    feature_names: tuple[str, ...] = FEATURES


def _training_rows(
    panel: Panel, origin: int, horizon: int, eligible: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(series, example origin, horizon) of every example whose target is at or before origin."""
    s_parts, o_parts, h_parts = [], [], []
    hs = np.arange(1, horizon + 1)
    for s in np.flatnonzero(eligible):
        origins = np.arange(int(panel.start[s]) + FEATURE_WARMUP_DAYS - 1, origin)
        if origins.size == 0:
            continue
        oo, hh = np.meshgrid(origins, hs, indexing="ij")
        keep = oo + hh <= origin
        s_parts.append(np.full(int(keep.sum()), s))
        o_parts.append(oo[keep])
        h_parts.append(hh[keep])
    if not s_parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return tuple(np.concatenate(p) for p in (s_parts, o_parts, h_parts))  # type: ignore[return-value]


def features_at(
    panel: Panel,
    measure: str,
    origin: int,
    horizon: int,
    eligible: np.ndarray,
    with_training: bool = True,
    max_train_rows: int | None = None,
    seed: int = 42,
) -> FeatureSet:
    """The training examples up to ``origin`` (none unless ``with_training``; a seeded sample of
    ``max_train_rows`` when there are more, drawn before the features are computed: building
    them for every example was most of XGBoost's time) and the forecast rows from it."""
    y_scale = window_scale(panel.values[measure], origin)
    v_scale = window_scale(panel.values["views"], origin)
    ts, to, th = _training_rows(panel, origin, horizon, eligible & with_training)
    if max_train_rows is not None and ts.size > max_train_rows:
        pick = np.sort(np.random.default_rng(seed).choice(ts.size, max_train_rows, False))
        ts, to, th = ts[pick], to[pick], th[pick]
    train_X = feature_matrix(panel, measure, (ts, to, th), y_scale, v_scale)
    train_y = np.nan_to_num(panel.values[measure])[ts, to + th] / y_scale[ts]
    fs = np.repeat(np.flatnonzero(eligible), horizon)
    fh = np.tile(np.arange(1, horizon + 1), int(eligible.sum()))
    fo = np.full(fs.size, origin)
    future_X = feature_matrix(panel, measure, (fs, fo, fh), y_scale, v_scale)
    return FeatureSet(train_X, train_y, ts, to, th, future_X, fs, fh, y_scale)


def make_features(
    daily: ArrowData,
    measure: str,
    origin: dt.date,
    horizon: int = 28,
    holiday_dates: list[dt.date] | None = None,
) -> tuple[pa.Table, pa.Table]:
    """The tree models' training and forecast features at ``origin``, as Arrow tables.

    Returns ``(train, future)``: ``train`` has ``series_id``, ``example_origin``, ``horizon``,
    the :data:`FEATURES` and ``target`` (scaled by the series' training-window mean); ``future``
    has ``series_id``, ``forecast_date`` and the features. Only series with at least
    :data:`TREE_MIN_HISTORY_DAYS` days up to the origin appear. Nothing after ``origin`` is read.
    """
    check_measure(measure)
    panel = build_panel(daily, extra_days=horizon, holiday_dates=holiday_dates)
    o = (origin - panel.day0).days
    if not 0 <= o <= panel.last:
        raise ValueError(
            f"The origin {origin} is outside the data ({panel.day0}..{panel.date(panel.last)})."
        )
    eligible = o - panel.start + 1 >= TREE_MIN_HISTORY_DAYS
    fs = features_at(panel, measure, o, horizon, eligible)
    ids = np.array(panel.series_ids, dtype=object)
    train = {
        "series_id": pa.array(ids[fs.train_series].tolist(), pa.string()),
        "example_origin": pa.array([panel.date(v) for v in fs.train_origin], pa.date32()),
        "horizon": pa.array(fs.train_horizon, pa.int32()),
    }
    train.update({f: pa.array(fs.train_X[:, i], pa.float32()) for i, f in enumerate(FEATURES)})
    train["target"] = pa.array(fs.train_y, pa.float64())
    future = {
        "series_id": pa.array(ids[fs.future_series].tolist(), pa.string()),
        "forecast_date": pa.array([panel.date(o + h) for h in fs.future_horizon], pa.date32()),
    }
    future.update({f: pa.array(fs.future_X[:, i], pa.float32()) for i, f in enumerate(FEATURES)})
    return pa.table(train), pa.table(future)
