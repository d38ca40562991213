"""Daily sales forecasting: revenue and units per series, five models, backtest and selection.

Plain, typed functions; Arrow in, Arrow out; numpy inside (pandas only for Prophet).

Input: a ``daily`` table with one row per (``series_id``, ``date``) and a full daily spine (no
missing days; zero-sales days present as 0) from each series' first day to one common last day.
Columns: ``series_id``, ``date``, ``revenue``, ``units``, ``views``, ``price_index`` (null when no
sales), ``day_of_week`` (1=Mon..7), ``week_of_year``, ``month``, ``is_holiday``,
``days_to_holiday`` (0..14).

Models (:data:`MODELS`) and the history each needs at the forecast origin
(:data:`MIN_HISTORY_DAYS`; a model is *skipped* for a shorter series, with the reason recorded,
and never raises for lack of history):

* ``xgboost`` (main) and ``random_forest`` (benchmark, bounded cost): one *global* model across
  series and horizons, direct strategy. Every feature is taken relative to the forecast origin
  ``o`` for a target ``t = o + h``: lags 7/14/28 of the measure and of ``views`` are ``y[t-L]``
  when ``t-L <= o``, otherwise the most recent same-weekday value at or before the origin
  (``y[t-L-7m]``, smallest ``m``); rolling means over 7 and 28 days ending at the origin; the last
  value; the mean price index of the 7 days up to the origin; the target's calendar (known in
  advance) and ``h``; the series as an integer code. Measures and views are divided by the
  series' mean over the training window (so one model fits series of very different sizes) and
  predictions are scaled back. No feature reads data after the origin.
* ``prophet``: one Prophet per series (weekly seasonality, the holidays of the input as holidays);
  a failure for one series is recorded as status ``failed`` and does not stop the others.
* ``seasonal_naive``: the last observed week, repeated.
* ``moving_average``: the mean of the last 28 days (or of all days when fewer).

Prediction intervals (80 %): Prophet gives its own (``uncertainty_samples`` draws). For the other
models the interval comes from the model's own errors one horizon earlier: the same model is fitted
at ``origin - horizon`` and its scaled errors over the following ``horizon`` days give split-
conformal bounds (finite-sample 10 % / 90 % ranks, see :func:`_conformal_bounds`) per series and
horizon week (1-7, 8-14, ...); without such errors for a series the bounds pooled over all series
of that horizon week are used, and without any, the interval is the point. In the backtest these calibration fits are the previous origins' fits, so intervals
are backtest residual quantiles. Always ``0 <= yhat_lower <= yhat <= yhat_upper``.

Backtest (:func:`backtest`): rolling origin, ``origins`` origins spaced ``horizon`` days apart, the
last one ``horizon`` days before the last date; every fit uses only data up to its origin. Output
is long form, one row per (model, series_id, measure, metric) with ``value`` (null when not
defined or skipped), ``n`` (forecast points), ``status`` (``ok``, ``partial`` when skipped at some
origins, ``skipped``, ``failed``) and ``reason``. Metrics: ``mae``, ``rmse``, ``smape`` (percent,
0..200, 0/0 counted as 0), ``mase`` (absolute errors divided by the in-sample seasonal-naive
(lag 7) MAE of the series' training data at each origin; null when that MAE is 0 or undefined)
and ``coverage`` (share of actuals inside [lower, upper]).

Forecast (:func:`forecast`): the ``horizon`` days after the last date for every series and model.
``is_selected`` marks exactly one model per (series, measure): the lowest backtest MASE among models
that ran for the series, then the lowest MAE, then :data:`SELECTION_TIE_ORDER`.

Determinism: fixed seeds and thread counts; the same input and seed give the same tables.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xgboost as xgb

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column

MEASURES: tuple[str, ...] = ("revenue", "units")
MODELS: tuple[str, ...] = (
    "xgboost",
    "random_forest",
    "prophet",
    "seasonal_naive",
    "moving_average",
)
TREE_MODELS: tuple[str, ...] = ("xgboost", "random_forest")
#: Ties in backtest MASE and MAE go to the simpler model.
SELECTION_TIE_ORDER: tuple[str, ...] = (
    "seasonal_naive",
    "moving_average",
    "xgboost",
    "random_forest",
    "prophet",
)
#: Days of history (series' first day up to the origin, inclusive) each model needs.
MIN_HISTORY_DAYS: dict[str, int] = {
    "xgboost": 56,
    "random_forest": 56,
    "prophet": 28,
    "seasonal_naive": 7,
    "moving_average": 1,
}
METRICS: tuple[str, ...] = ("mae", "rmse", "smape", "mase", "coverage")
REQUIRED_COLUMNS: tuple[str, ...] = (
    "series_id",
    "date",
    "revenue",
    "units",
    "views",
    "price_index",
    "day_of_week",
    "week_of_year",
    "month",
    "is_holiday",
    "days_to_holiday",
)
FEATURES: tuple[str, ...] = (
    "horizon",
    "series_code",
    "y_lag_7",
    "y_lag_14",
    "y_lag_28",
    "y_last",
    "y_mean_7",
    "y_mean_28",
    "views_lag_7",
    "views_lag_14",
    "views_lag_28",
    "views_mean_7",
    "price_index_mean_7",
    "day_of_week",
    "week_of_year",
    "month",
    "is_holiday",
    "days_to_holiday",
)
LAGS: tuple[int, ...] = (7, 14, 28)
#: A training example needs 28 days up to its own origin (the 28-day rolling mean).
FEATURE_WARMUP_DAYS = 28
MOVING_AVERAGE_DAYS = 28
INTERVAL_QUANTILES: tuple[float, float] = (0.1, 0.9)
HOLIDAY_CAP_DAYS = 14
NTHREAD = 2
MAX_TRAIN_ROWS = 150_000
XGB_ROUNDS = 150
XGB_PARAMS: dict[str, Any] = {
    "objective": "reg:squarederror",
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.1,
    "min_child_weight": 3.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
    "nthread": NTHREAD,
}
RF_PARAMS: dict[str, Any] = {
    "n_estimators": 60,
    "max_depth": 12,
    "min_samples_leaf": 5,
    "max_features": 0.5,
    "n_jobs": NTHREAD,
}
RF_MAX_SAMPLES = 20_000
PROPHET_UNCERTAINTY_SAMPLES = 100

_LOG = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------
# Panel: the input as dense (series x day) arrays
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Panel:
    """Series as rows, days as columns (day 0 = earliest date); NaN before a series' first day.

    Calendar arrays are per day and extend ``extra_days`` past the last date (derived from dates
    and the input's holidays, see :func:`_future_calendar`).
    """

    series_ids: tuple[str, ...]
    day0: dt.date
    n_days: int
    start: np.ndarray  # first day index of each series
    values: dict[str, np.ndarray]  # revenue, units, views, price_index: (n_series, n_days)
    calendar: dict[str, np.ndarray]  # day_of_week, ...: (n_days + extra_days,)
    holidays: tuple[dt.date, ...]

    @property
    def last(self) -> int:
        return self.n_days - 1

    def date(self, index: int) -> dt.date:
        return self.day0 + dt.timedelta(days=int(index))


def _holiday_dates(
    known: Sequence[dt.date], extra: Sequence[dt.date] | None
) -> tuple[dt.date, ...]:
    """The input's holidays, the same month/day in the next year, and any extra dates."""
    dates = set(known)
    for day in known:
        with contextlib.suppress(ValueError):  # 29 February has no next-year twin
            dates.add(day.replace(year=day.year + 1))
    dates.update(extra or ())
    return tuple(sorted(dates))


def _future_calendar(dates: Sequence[dt.date], holidays: Sequence[dt.date]) -> dict[str, list]:
    ordinals = np.array([h.toordinal() for h in holidays], dtype=np.int64)
    out: dict[str, list] = {key: [] for key in ("day_of_week", "week_of_year", "month")}
    out["is_holiday"] = []
    out["days_to_holiday"] = []
    for day in dates:
        out["day_of_week"].append(day.isoweekday())
        out["week_of_year"].append(day.isocalendar()[1])
        out["month"].append(day.month)
        ahead = ordinals[ordinals >= day.toordinal()] - day.toordinal()
        gap = int(ahead.min()) if ahead.size else HOLIDAY_CAP_DAYS
        out["is_holiday"].append(1.0 if gap == 0 else 0.0)
        out["days_to_holiday"].append(float(min(gap, HOLIDAY_CAP_DAYS)))
    return out


def _build_panel(
    daily: ArrowData, extra_days: int, holiday_dates: Sequence[dt.date] | None = None
) -> _Panel:
    table = as_table(daily)
    missing = [name for name in REQUIRED_COLUMNS if name not in table.column_names]
    if missing:
        raise ValueError(f"The daily table is missing column(s): {', '.join(missing)}.")
    if table.num_rows == 0:
        raise ValueError("The daily table is empty: there is nothing to forecast.")
    if table.column("series_id").null_count or table.column("date").null_count:
        raise ValueError("The daily table has rows without a series_id or a date.")
    date_col = table.column("date")
    if pa.types.is_timestamp(date_col.type):
        date_col = pc.cast(date_col, pa.date32())
    day_numbers = pc.cast(pc.cast(date_col, pa.date32()), pa.int32()).to_numpy(zero_copy_only=False)
    day_numbers = day_numbers.astype(np.int64)
    first_day = int(day_numbers.min())
    day_index = day_numbers - first_day
    n_days = int(day_index.max()) + 1
    day0 = dt.date(1970, 1, 1) + dt.timedelta(days=first_day)

    ids = np.array(table.column("series_id").to_pylist(), dtype=object)
    series_ids = tuple(sorted(set(ids.tolist())))
    code = {sid: i for i, sid in enumerate(series_ids)}
    rows = np.array([code[s] for s in ids], dtype=np.int64)
    n_series = len(series_ids)

    counts = np.zeros((n_series, n_days), dtype=np.int64)
    np.add.at(counts, (rows, day_index), 1)
    if counts.max() > 1:
        raise ValueError("The daily table has more than one row for some (series_id, date).")
    start = np.argmax(counts > 0, axis=1)
    for s in range(n_series):
        if counts[s, -1] == 0:
            raise ValueError(
                f"Series {series_ids[s]!r} does not reach the common last date "
                f"{day0 + dt.timedelta(days=n_days - 1)}; every series must end on the same day."
            )
        if not counts[s, start[s] :].all():
            raise ValueError(
                f"Series {series_ids[s]!r} has missing days; the daily spine must have no gaps "
                "(zero-sales days present as 0)."
            )

    values: dict[str, np.ndarray] = {}
    for name in ("revenue", "units", "views", "price_index"):
        grid = np.full((n_series, n_days), np.nan)
        grid[rows, day_index] = numeric_column(table, name)
        values[name] = grid
    for name in ("revenue", "units", "views"):
        inside = counts > 0
        values[name][inside] = np.nan_to_num(values[name][inside], nan=0.0)

    calendar: dict[str, np.ndarray] = {}
    first_row_of_day = np.full(n_days, -1, dtype=np.int64)
    first_row_of_day[day_index[::-1]] = np.arange(len(day_index))[::-1]
    for name in ("day_of_week", "week_of_year", "month", "is_holiday", "days_to_holiday"):
        column = numeric_column(table, name)
        calendar[name] = np.nan_to_num(column[first_row_of_day], nan=0.0)
    known = [day0 + dt.timedelta(days=int(d)) for d in np.flatnonzero(calendar["is_holiday"] > 0)]
    holidays = _holiday_dates(known, holiday_dates)
    future_dates = [day0 + dt.timedelta(days=n_days + k) for k in range(extra_days)]
    future = _future_calendar(future_dates, holidays)
    for name in calendar:
        calendar[name] = np.concatenate([calendar[name], np.asarray(future[name], dtype=float)])
    return _Panel(series_ids, day0, n_days, start, values, calendar, holidays)


# --------------------------------------------------------------------------------------------
# Features (direct strategy, all relative to the origin)
# --------------------------------------------------------------------------------------------


def _window_scale(grid: np.ndarray, start: np.ndarray, origin: int) -> np.ndarray:
    """Per-series mean over the series' days up to ``origin``; 1 where it is 0 or undefined."""
    window = grid[:, : origin + 1]
    count = (~np.isnan(window)).sum(axis=1)
    total = np.nansum(window, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = total / count
    return np.where((count > 0) & np.isfinite(scale) & (scale > 0), scale, 1.0)


def _lag_index(target: np.ndarray, origin: np.ndarray, lag: int) -> np.ndarray:
    """``t - lag`` when at or before the origin, else the latest same-weekday day at/before it."""
    index = target - lag
    excess = np.maximum(index - origin, 0)
    return index - 7 * ((excess + 6) // 7)


def _rolling_mean(cumsum: np.ndarray, s: np.ndarray, end: np.ndarray, days: int) -> np.ndarray:
    return (cumsum[s, end + 1] - cumsum[s, end + 1 - days]) / days


def _feature_matrix(
    panel: _Panel,
    measure: str,
    s: np.ndarray,
    o: np.ndarray,
    h: np.ndarray,
    y_scale: np.ndarray,
    v_scale: np.ndarray,
) -> np.ndarray:
    """Features for rows (series ``s``, origin ``o``, horizon ``h``); reads days <= ``o`` only.

    Needs ``o - start[s] + 1 >= FEATURE_WARMUP_DAYS`` for every row.
    """
    y = np.nan_to_num(panel.values[measure]) / y_scale[:, None]
    v = np.nan_to_num(panel.values["views"]) / v_scale[:, None]
    price = panel.values["price_index"]
    zero = np.zeros((y.shape[0], 1))
    y_cum = np.concatenate([zero, np.cumsum(y, axis=1)], axis=1)
    v_cum = np.concatenate([zero, np.cumsum(v, axis=1)], axis=1)
    p_cum = np.concatenate([zero, np.cumsum(np.nan_to_num(price), axis=1)], axis=1)
    p_cnt = np.concatenate([zero, np.cumsum(~np.isnan(price), axis=1)], axis=1)
    t = o + h
    columns: dict[str, np.ndarray] = {"horizon": h, "series_code": s}
    for lag in LAGS:
        idx = _lag_index(t, o, lag)
        columns[f"y_lag_{lag}"] = y[s, idx]
        columns[f"views_lag_{lag}"] = v[s, idx]
    columns["y_last"] = y[s, o]
    columns["y_mean_7"] = _rolling_mean(y_cum, s, o, 7)
    columns["y_mean_28"] = _rolling_mean(y_cum, s, o, 28)
    columns["views_mean_7"] = _rolling_mean(v_cum, s, o, 7)
    count = p_cnt[s, o + 1] - p_cnt[s, o - 6]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_price = (p_cum[s, o + 1] - p_cum[s, o - 6]) / count
    columns["price_index_mean_7"] = np.where(count > 0, mean_price, 1.0)
    for name in ("day_of_week", "week_of_year", "month", "is_holiday", "days_to_holiday"):
        columns[name] = panel.calendar[name][t]
    return np.column_stack([np.asarray(columns[f], dtype=np.float64) for f in FEATURES]).astype(
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


def _features_at(
    panel: _Panel, measure: str, origin: int, horizon: int, eligible: np.ndarray
) -> FeatureSet:
    y_scale = _window_scale(panel.values[measure], panel.start, origin)
    v_scale = _window_scale(panel.values["views"], panel.start, origin)
    s_parts, o_parts, h_parts = [], [], []
    hs = np.arange(1, horizon + 1)
    for s in np.flatnonzero(eligible):
        first = int(panel.start[s]) + FEATURE_WARMUP_DAYS - 1
        origins = np.arange(first, origin)
        if origins.size == 0:
            continue
        oo, hh = np.meshgrid(origins, hs, indexing="ij")
        keep = oo + hh <= origin
        s_parts.append(np.full(int(keep.sum()), s))
        o_parts.append(oo[keep])
        h_parts.append(hh[keep])
    if s_parts:
        ts, to, th = (np.concatenate(p) for p in (s_parts, o_parts, h_parts))
    else:
        ts = to = th = np.zeros(0, dtype=np.int64)
    train_X = _feature_matrix(panel, measure, ts, to, th, y_scale, v_scale)
    values = np.nan_to_num(panel.values[measure])
    train_y = values[ts, to + th] / y_scale[ts]
    fs = np.repeat(np.flatnonzero(eligible), horizon)
    fh = np.tile(hs, int(eligible.sum()))
    fo = np.full(fs.size, origin)
    future_X = _feature_matrix(panel, measure, fs, fo, fh, y_scale, v_scale)
    return FeatureSet(train_X, train_y, ts, to, th, future_X, fs, fh, y_scale)


def make_features(
    daily: ArrowData, measure: str, origin: dt.date, horizon: int = 28
) -> tuple[pa.Table, pa.Table]:
    """The tree models' training and forecast features at ``origin``, as Arrow tables.

    Returns ``(train, future)``: ``train`` has ``series_id``, ``example_origin``, ``horizon``,
    the :data:`FEATURES` and ``target`` (scaled by the series' training-window mean); ``future``
    has ``series_id``, ``forecast_date`` and the features. Only series with at least
    ``MIN_HISTORY_DAYS['xgboost']`` days up to the origin appear. Nothing after ``origin`` is read.
    """
    _check_measure(measure)
    panel = _build_panel(daily, extra_days=horizon)
    o = (origin - panel.day0).days
    if not 0 <= o <= panel.last:
        raise ValueError(
            f"The origin {origin} is outside the data ({panel.day0}..{panel.date(panel.last)})."
        )
    eligible = o - panel.start + 1 >= MIN_HISTORY_DAYS["xgboost"]
    fs = _features_at(panel, measure, o, horizon, eligible)
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


# --------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------


@dataclass
class _Fit:
    """One model fitted at one origin: predictions per series, NaN where it did not run."""

    model: str
    origin: int
    yhat: np.ndarray  # (n_series, horizon)
    lower: np.ndarray | None  # own intervals (Prophet) or None
    upper: np.ndarray | None
    status: list[str]
    reason: list[str | None]
    trained: Any = None  # the fitted model (tree models), for feature importance
    features: FeatureSet | None = None


def _too_short(panel: _Panel, model: str, origin: int) -> tuple[np.ndarray, list[str | None]]:
    history = origin - panel.start + 1
    need = MIN_HISTORY_DAYS[model]
    ok = history >= need
    reasons = [
        None
        if good
        else f"too short: {max(int(days), 0)} day(s) of history at the origin, {model} needs {need}"
        for good, days in zip(ok, history, strict=True)
    ]
    return ok, reasons


def _fit_naive(panel: _Panel, measure: str, model: str, origin: int, horizon: int) -> _Fit:
    ok, reasons = _too_short(panel, model, origin)
    n_series = len(panel.series_ids)
    yhat = np.full((n_series, horizon), np.nan)
    values = panel.values[measure]
    hs = np.arange(1, horizon + 1)
    for s in np.flatnonzero(ok):
        if model == "seasonal_naive":
            yhat[s] = values[s, origin - 7 + (hs - 1) % 7 + 1]
        else:
            first = max(int(panel.start[s]), origin - MOVING_AVERAGE_DAYS + 1)
            yhat[s] = values[s, first : origin + 1].mean()
    status = ["ok" if good else "skipped" for good in ok]
    return _Fit(model, origin, yhat, None, None, status, reasons)


def _fit_tree(
    panel: _Panel, measure: str, model: str, origin: int, horizon: int, seed: int
) -> _Fit:
    ok, reasons = _too_short(panel, model, origin)
    n_series = len(panel.series_ids)
    yhat = np.full((n_series, horizon), np.nan)
    status = ["ok" if good else "skipped" for good in ok]
    if not ok.any():
        return _Fit(model, origin, yhat, None, None, status, reasons)
    fs = _features_at(panel, measure, origin, horizon, ok)
    X, y = fs.train_X, fs.train_y
    if X.shape[0] > MAX_TRAIN_ROWS:
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(X.shape[0], MAX_TRAIN_ROWS, replace=False))
        X, y = X[pick], y[pick]
    if model == "xgboost":
        params = {**XGB_PARAMS, "seed": seed}
        dtrain = xgb.DMatrix(X, label=y, feature_names=list(FEATURES), nthread=NTHREAD)
        trained = xgb.train(params, dtrain, num_boost_round=XGB_ROUNDS)
        dfuture = xgb.DMatrix(fs.future_X, feature_names=list(FEATURES), nthread=NTHREAD)
        pred = trained.predict(dfuture)
    else:
        from sklearn.ensemble import RandomForestRegressor

        fraction = min(1.0, RF_MAX_SAMPLES / max(X.shape[0], 1))
        trained = RandomForestRegressor(
            **RF_PARAMS, max_samples=fraction if fraction < 1.0 else None, random_state=seed
        )
        trained.fit(X, y)
        # threaded prediction sums the trees in a racy order (last-bit differences): predict on
        # one thread so the same input always gives the same numbers
        trained.set_params(n_jobs=1)
        pred = trained.predict(fs.future_X)
    pred = np.asarray(pred, dtype=np.float64) * fs.y_scale[fs.future_series]
    yhat[fs.future_series, fs.future_horizon - 1] = np.maximum(pred, 0.0)
    return _Fit(model, origin, yhat, None, None, status, reasons, trained, fs)


def _quiet_prophet() -> None:
    for name in ("cmdstanpy", "prophet", "prophet.plot"):
        logging.getLogger(name).disabled = True


def _fit_prophet(panel: _Panel, measure: str, origin: int, horizon: int, seed: int) -> _Fit:
    ok, reasons = _too_short(panel, "prophet", origin)
    n_series = len(panel.series_ids)
    yhat = np.full((n_series, horizon), np.nan)
    lower = np.full((n_series, horizon), np.nan)
    upper = np.full((n_series, horizon), np.nan)
    status = ["ok" if good else "skipped" for good in ok]
    if not ok.any():
        return _Fit("prophet", origin, yhat, lower, upper, status, reasons)
    _quiet_prophet()
    import pandas as pd
    from prophet import Prophet

    _quiet_prophet()
    holidays = None
    if panel.holidays:
        holidays = pd.DataFrame({"holiday": "holiday", "ds": pd.to_datetime(list(panel.holidays))})
    all_dates = pd.to_datetime([panel.date(d) for d in range(origin + horizon + 1)])
    values = panel.values[measure]
    for s in np.flatnonzero(ok):
        first = int(panel.start[s])
        frame = pd.DataFrame(
            {"ds": all_dates[first : origin + 1], "y": values[s, first : origin + 1]}
        )
        try:
            model = Prophet(
                weekly_seasonality=True,
                yearly_seasonality=False,
                daily_seasonality=False,
                holidays=holidays,
                interval_width=INTERVAL_QUANTILES[1] - INTERVAL_QUANTILES[0],
                uncertainty_samples=PROPHET_UNCERTAINTY_SAMPLES,
            )
            model.fit(frame, seed=seed)
            np.random.seed(seed)  # Prophet draws its interval samples from numpy's global RNG
            future = pd.DataFrame({"ds": all_dates[origin + 1 : origin + horizon + 1]})
            out = model.predict(future)
            yhat[s] = out["yhat"].to_numpy(dtype=np.float64)
            lower[s] = out["yhat_lower"].to_numpy(dtype=np.float64)
            upper[s] = out["yhat_upper"].to_numpy(dtype=np.float64)
            if not np.isfinite(yhat[s]).all():
                raise ValueError("Prophet returned non-finite forecasts")
        except Exception as error:  # one failing series must not stop the others
            yhat[s] = lower[s] = upper[s] = np.nan
            status[s] = "failed"
            reasons[s] = f"prophet failed: {type(error).__name__}: {str(error)[:200]}"
    return _Fit("prophet", origin, yhat, lower, upper, status, reasons)


# --------------------------------------------------------------------------------------------
# Runner: fits cached per (model, origin), intervals, metrics
# --------------------------------------------------------------------------------------------


class _Runner:
    def __init__(
        self, panel: _Panel, measure: str, horizon: int, seed: int, models: Sequence[str]
    ) -> None:
        self.panel, self.measure, self.horizon, self.seed = panel, measure, horizon, seed
        self.models = tuple(models)
        self._fits: dict[tuple[str, int], _Fit] = {}

    def fit(self, model: str, origin: int) -> _Fit:
        key = (model, origin)
        if key not in self._fits:
            p, m, h = self.panel, self.measure, self.horizon
            if model in TREE_MODELS:
                fit = _fit_tree(p, m, model, origin, h, self.seed)
            elif model == "prophet":
                fit = _fit_prophet(p, m, origin, h, self.seed)
            else:
                fit = _fit_naive(p, m, model, origin, h)
            self._fits[key] = fit
        return self._fits[key]

    def predict(self, model: str, origin: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, _Fit]:
        """Point forecast and 80 % interval at ``origin`` (n_series x horizon, NaN if not run)."""
        fit = self.fit(model, origin)
        yhat = np.maximum(fit.yhat, 0.0)
        if fit.lower is not None and fit.upper is not None:
            lower, upper = fit.lower, fit.upper
        else:
            lower, upper = self._residual_interval(model, origin, yhat)
        lower = np.clip(np.minimum(lower, yhat), 0.0, None)
        upper = np.maximum(upper, yhat)
        return yhat, lower, upper, fit

    def _residual_interval(
        self, model: str, origin: int, yhat: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        h = self.horizon
        n_series = yhat.shape[0]
        n_buckets = (h + 6) // 7
        q_low = np.zeros((n_series, n_buckets))
        q_high = np.zeros((n_series, n_buckets))
        calib = origin - h
        values = self.panel.values[self.measure]
        scale_now = _window_scale(values, self.panel.start, origin)
        if calib >= 0:
            past = self.fit(model, calib)
            scale_then = _window_scale(values, self.panel.start, calib)
            actual = values[:, calib + 1 : calib + h + 1]
            errors = (actual - np.maximum(past.yhat, 0.0)) / scale_then[:, None]
            buckets = np.arange(h) // 7
            for b in range(n_buckets):
                block = errors[:, buckets == b]
                pooled = block[np.isfinite(block)]
                fallback = _conformal_bounds(pooled) if pooled.size else np.zeros(2)
                for s in range(n_series):
                    own = block[s][np.isfinite(block[s])]
                    lo, hi = _conformal_bounds(own) if own.size else fallback
                    q_low[s, b], q_high[s, b] = min(lo, 0.0), max(hi, 0.0)
        bucket_of_h = np.arange(h) // 7
        lower = yhat + q_low[:, bucket_of_h] * scale_now[:, None]
        upper = yhat + q_high[:, bucket_of_h] * scale_now[:, None]
        return lower, upper


def _conformal_bounds(errors: np.ndarray) -> np.ndarray:
    """Split-conformal bounds of an error sample for the INTERVAL_QUANTILES band.

    With n past errors, the plain 10 %/90 % quantiles of so few values under-cover; the
    finite-sample rule takes the ceil((n + 1) * 0.9)-th smallest error as the upper bound and the
    floor((n + 1) * 0.1)-th as the lower (the extremes when n is small), which covers at least 80 %
    of a new exchangeable error.
    """
    ordered = np.sort(errors)
    n = ordered.size
    low_rank = int(np.floor((n + 1) * INTERVAL_QUANTILES[0]))
    high_rank = int(np.ceil((n + 1) * INTERVAL_QUANTILES[1]))
    low = ordered[max(low_rank, 1) - 1]
    high = ordered[min(high_rank, n) - 1]
    return np.array([low, high])


def _check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise ValueError(f"Unknown measure {measure!r}; choose one of {', '.join(MEASURES)}.")


def _check_models(models: Sequence[str]) -> tuple[str, ...]:
    unknown = [m for m in models if m not in MODELS]
    if unknown:
        raise ValueError(f"Unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}.")
    return tuple(models)


def _backtest_origins(panel: _Panel, horizon: int, origins: int) -> list[int]:
    if horizon < 1 or origins < 1:
        raise ValueError("horizon and origins must be at least 1.")
    found = [panel.last - horizon * k for k in range(origins, 0, -1)]
    return [o for o in found if o >= 0]


def _metric_values(
    actual: np.ndarray, yhat: np.ndarray, lower: np.ndarray, upper: np.ndarray, denom: np.ndarray
) -> dict[str, float | None]:
    error = actual - yhat
    absolute = np.abs(error)
    total = np.abs(actual) + np.abs(yhat)
    with np.errstate(invalid="ignore", divide="ignore"):
        smape_terms = np.where(total > 0, 2.0 * absolute / total, 0.0)
        usable = np.isfinite(denom) & (denom > 0)
        mase = float(np.mean(absolute[usable] / denom[usable])) if usable.any() else None
    return {
        "mae": float(absolute.mean()),
        "rmse": float(math.sqrt(np.mean(error**2))),
        "smape": float(100.0 * smape_terms.mean()),
        "mase": mase,
        "coverage": float(np.mean((actual >= lower) & (actual <= upper))),
    }


def _naive_scale(values: np.ndarray, start: int, origin: int) -> float:
    """In-sample MAE of the lag-7 seasonal naive over the series' days up to the origin."""
    window = values[start : origin + 1]
    if window.size <= 7:
        return math.nan
    return float(np.mean(np.abs(window[7:] - window[:-7])))


def _backtest_table(runner: _Runner, origins: list[int]) -> pa.Table:
    panel, measure, h = runner.panel, runner.measure, runner.horizon
    values = panel.values[measure]
    rows: dict[str, list] = {
        k: [] for k in ("model", "series_id", "measure", "metric", "value", "n", "status", "reason")
    }

    def add(model: str, sid: str, metrics: dict, n: int, status: str, reason: str | None) -> None:
        for metric in METRICS:
            rows["model"].append(model)
            rows["series_id"].append(sid)
            rows["measure"].append(measure)
            rows["metric"].append(metric)
            rows["value"].append(metrics.get(metric))
            rows["n"].append(n)
            rows["status"].append(status)
            rows["reason"].append(reason)

    for model in runner.models:
        per_origin = [runner.predict(model, o) for o in origins]
        for s, sid in enumerate(panel.series_ids):
            parts: list[tuple[np.ndarray, ...]] = []
            skipped: list[str] = []
            failed: list[str] = []
            for o, (yhat, lower, upper, fit) in zip(origins, per_origin, strict=True):
                if fit.status[s] != "ok":
                    (failed if fit.status[s] == "failed" else skipped).append(
                        f"origin {panel.date(o)}: {fit.reason[s]}"
                    )
                    continue
                denom = _naive_scale(values[s], int(panel.start[s]), o)
                parts.append(
                    (
                        values[s, o + 1 : o + h + 1],
                        yhat[s],
                        lower[s],
                        upper[s],
                        np.full(h, denom),
                    )
                )
            if not parts:
                status = "failed" if failed else "skipped"
                reason = "; ".join(failed + skipped) or "no backtest origin inside the data"
                add(model, sid, {}, 0, status, reason)
                continue
            stacked = [np.concatenate(p) for p in zip(*parts, strict=True)]
            metrics = _metric_values(*stacked)
            status = "ok" if not (skipped or failed) else "partial"
            reason = "; ".join(failed + skipped) or None
            add(model, sid, metrics, int(stacked[0].size), status, reason)
    return pa.table(
        {
            "model": pa.array(rows["model"], pa.string()),
            "series_id": pa.array(rows["series_id"], pa.string()),
            "measure": pa.array(rows["measure"], pa.string()),
            "metric": pa.array(rows["metric"], pa.string()),
            "value": pa.array(rows["value"], pa.float64()),
            "n": pa.array(rows["n"], pa.int64()),
            "status": pa.array(rows["status"], pa.string()),
            "reason": pa.array(rows["reason"], pa.string()),
        }
    )


def backtest(
    daily: ArrowData,
    measure: str,
    horizon: int = 28,
    origins: int = 3,
    seed: int = 42,
    models: Sequence[str] = MODELS,
    holiday_dates: Sequence[dt.date] | None = None,
) -> pa.Table:
    """Rolling-origin backtest; long form ``model, series_id, measure, metric, value, n, status,
    reason`` (see the module docstring). Origins closer than one day to the data start are dropped.
    """
    _check_measure(measure)
    models = _check_models(models)
    panel = _build_panel(daily, extra_days=horizon, holiday_dates=holiday_dates)
    runner = _Runner(panel, measure, horizon, seed, models)
    return _backtest_table(runner, _backtest_origins(panel, horizon, origins))


def _selection(evaluation: pa.Table | None, measure: str) -> dict[str, dict[str, tuple]]:
    """Per series: model -> sort key (MASE, MAE) from the backtest, for models that ran."""
    keys: dict[str, dict[str, tuple]] = {}
    if evaluation is None:
        return keys
    table = evaluation.filter(
        pc.and_(
            pc.equal(evaluation.column("measure"), measure),
            pc.is_in(evaluation.column("status"), pa.array(["ok", "partial"])),
        )
    )
    stats: dict[tuple[str, str], dict[str, float | None]] = {}
    for row in table.select(["model", "series_id", "metric", "value"]).to_pylist():
        stats.setdefault((row["series_id"], row["model"]), {})[row["metric"]] = row["value"]
    for (sid, model), metric in stats.items():
        mase, mae = metric.get("mase"), metric.get("mae")
        keys.setdefault(sid, {})[model] = (
            math.inf if mase is None else mase,
            math.inf if mae is None else mae,
        )
    return keys


def forecast(
    daily: ArrowData,
    measure: str,
    horizon: int = 28,
    seed: int = 42,
    evaluation: pa.Table | None = None,
    origins: int = 3,
    models: Sequence[str] = MODELS,
    holiday_dates: Sequence[dt.date] | None = None,
) -> pa.Table:
    """The ``horizon`` days after the last date, for every series and model.

    Columns: ``series_id, measure, forecast_date, model, yhat, yhat_lower, yhat_upper,
    is_selected, status, reason``. A skipped or failed model keeps its rows with null forecasts,
    its status and the reason. ``evaluation`` is a :func:`backtest` table for this measure (same
    horizon); when None, the backtest is run here (``origins`` origins) and reused. Selection: see
    the module docstring; a series without any backtest figures gets the first model of
    :data:`SELECTION_TIE_ORDER` that produced a forecast.
    """
    _check_measure(measure)
    models = _check_models(models)
    panel = _build_panel(daily, extra_days=horizon, holiday_dates=holiday_dates)
    runner = _Runner(panel, measure, horizon, seed, models)
    if evaluation is None:
        evaluation = _backtest_table(runner, _backtest_origins(panel, horizon, origins))
    keys = _selection(as_table(evaluation), measure)
    order = {m: i for i, m in enumerate(SELECTION_TIE_ORDER)}
    origin = panel.last
    preds = {m: runner.predict(m, origin) for m in models}
    dates = [panel.date(origin + k) for k in range(1, horizon + 1)]
    columns: dict[str, list] = {
        k: []
        for k in (
            "series_id",
            "measure",
            "forecast_date",
            "model",
            "yhat",
            "yhat_lower",
            "yhat_upper",
            "is_selected",
            "status",
            "reason",
        )
    }
    for s, sid in enumerate(panel.series_ids):
        ran = [m for m in models if preds[m][3].status[s] == "ok"]
        scored = keys.get(sid, {})
        candidates = [m for m in ran if m in scored] or ran
        chosen = min(
            candidates, key=lambda m: (*scored.get(m, (math.inf, math.inf)), order[m]), default=None
        )
        for model in models:
            yhat, lower, upper, fit = preds[model]
            ok = fit.status[s] == "ok"
            for k, day in enumerate(dates):
                columns["series_id"].append(sid)
                columns["measure"].append(measure)
                columns["forecast_date"].append(day)
                columns["model"].append(model)
                columns["yhat"].append(float(yhat[s, k]) if ok else None)
                columns["yhat_lower"].append(float(lower[s, k]) if ok else None)
                columns["yhat_upper"].append(float(upper[s, k]) if ok else None)
                columns["is_selected"].append(model == chosen)
                columns["status"].append(fit.status[s])
                columns["reason"].append(fit.reason[s])
    types = {
        "series_id": pa.string(),
        "measure": pa.string(),
        "forecast_date": pa.date32(),
        "model": pa.string(),
        "yhat": pa.float64(),
        "yhat_lower": pa.float64(),
        "yhat_upper": pa.float64(),
        "is_selected": pa.bool_(),
        "status": pa.string(),
        "reason": pa.string(),
    }
    return pa.table({k: pa.array(v, types[k]) for k, v in columns.items()})


def feature_importance(
    daily: ArrowData,
    measure: str,
    horizon: int = 28,
    seed: int = 42,
    shap_rows: int = 2000,
    holiday_dates: Sequence[dt.date] | None = None,
) -> pa.Table:
    """Feature importance of the tree models fitted at the last date (the forecast fit).

    Columns: ``model, measure, feature, importance, importance_type, mean_abs_shap, rank``.
    XGBoost: total gain (``importance_type`` 'gain', 0 for unused features) and the mean absolute
    TreeSHAP contribution (``pred_contribs``) over up to ``shap_rows`` seeded training rows, in
    scaled target units. Random forest: impurity importance ('impurity'); ``mean_abs_shap`` is
    null (exact SHAP for deep forests is too costly here). ``rank`` 1 = most important.
    Empty when no series is long enough for the tree models.
    """
    _check_measure(measure)
    panel = _build_panel(daily, extra_days=horizon, holiday_dates=holiday_dates)
    rows: list[dict[str, Any]] = []
    for model in TREE_MODELS:
        fit = _fit_tree(panel, measure, model, panel.last, horizon, seed)
        if fit.trained is None or fit.features is None:
            continue
        if model == "xgboost":
            gain = fit.trained.get_score(importance_type="total_gain")
            importance = np.array([gain.get(f, 0.0) for f in FEATURES])
            X = fit.features.train_X
            rng = np.random.default_rng(seed)
            if X.shape[0] > shap_rows:
                X = X[np.sort(rng.choice(X.shape[0], shap_rows, replace=False))]
            contribs = fit.trained.predict(
                xgb.DMatrix(X, feature_names=list(FEATURES), nthread=NTHREAD), pred_contribs=True
            )
            shap: list[float | None] = np.abs(contribs[:, :-1]).mean(axis=0).tolist()
            kind = "gain"
        else:
            importance = np.asarray(fit.trained.feature_importances_, dtype=np.float64)
            shap = [None] * len(FEATURES)
            kind = "impurity"
        ranks = np.empty(len(FEATURES), dtype=np.int64)
        ranks[np.lexsort((np.arange(len(FEATURES)), -importance))] = np.arange(1, len(FEATURES) + 1)
        for i, feature in enumerate(FEATURES):
            rows.append(
                {
                    "model": model,
                    "measure": measure,
                    "feature": feature,
                    "importance": float(importance[i]),
                    "importance_type": kind,
                    "mean_abs_shap": shap[i],
                    "rank": int(ranks[i]),
                }
            )
    schema = pa.schema(
        [
            ("model", pa.string()),
            ("measure", pa.string()),
            ("feature", pa.string()),
            ("importance", pa.float64()),
            ("importance_type", pa.string()),
            ("mean_abs_shap", pa.float64()),
            ("rank", pa.int64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema)


# --------------------------------------------------------------------------------------------
# The steps as the dbt Python models run them (one call each, both measures)
# --------------------------------------------------------------------------------------------


def _holiday_list(holidays: ArrowData | None) -> list[dt.date] | None:
    if holidays is None:
        return None
    return [day for day in as_table(holidays).column("holiday_date").to_pylist() if day is not None]


def _series_input(daily: ArrowData) -> pa.Table:
    table = as_table(daily)
    return table.select([name for name in table.column_names if name != "series_level"])


def build_evaluation(
    daily: ArrowData, horizon: int, origins: int, seed: int, holidays: ArrowData | None = None
) -> pa.Table:
    """forecast_evaluation: the rolling-origin backtest of every model, for both measures."""
    table, days = _series_input(daily), _holiday_list(holidays)
    return pa.concat_tables(
        [backtest(table, m, horizon, origins, seed, holiday_dates=days) for m in MEASURES]
    )


def build_forecast(
    daily: ArrowData,
    evaluation: ArrowData,
    horizon: int,
    origins: int,
    seed: int,
    holidays: ArrowData | None = None,
) -> pa.Table:
    """sales_forecast: the next `horizon` days of every series, model and measure, the model
    chosen per series and measure by the backtest in `evaluation` marked is_selected."""
    table, days, scores = _series_input(daily), _holiday_list(holidays), as_table(evaluation)
    return pa.concat_tables(
        [
            forecast(
                table, m, horizon, seed, evaluation=scores, origins=origins, holiday_dates=days
            )
            for m in MEASURES
        ]
    )


def build_feature_importance(
    daily: ArrowData, horizon: int, seed: int, holidays: ArrowData | None = None
) -> pa.Table:
    """forecast_feature_importance: gain / impurity and mean |SHAP| per feature and measure."""
    table, days = _series_input(daily), _holiday_list(holidays)
    return pa.concat_tables(
        [feature_importance(table, m, horizon, seed, holiday_dates=days) for m in MEASURES]
    )
