"""The forecasting input as dense (series x day) arrays, with the calendar built in one place.

Input: a ``daily`` table with one row per (``series_id``, ``date``) and a full daily spine (no
missing days; zero-sales days present as 0) from each series' first day to one common last day.
Columns :data:`REQUIRED_COLUMNS`; ``series_level`` is optional (the hierarchy level, see
:mod:`.reconciliation`). Extra columns are ignored.

The calendar (day of week, ISO week, month, day of month, holiday flag, days to the next and
since the last holiday, capped at :data:`HOLIDAY_CAP_DAYS`) is computed here, for the past and
the forecast days alike, from a list of holiday dates that covers every year (the
``public_holidays`` model, from the ``holidays`` package, so moving holidays such as Thanksgiving
fall on their true date each year). The SQL input carries no holiday columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.guards import require_columns

MEASURES: tuple[str, ...] = ("revenue", "units")
REQUIRED_COLUMNS: tuple[str, ...] = (
    "series_id",
    "date",
    "revenue",
    "units",
    "views",
    "price_index",
)
CALENDAR_FEATURES: tuple[str, ...] = (
    "day_of_week",
    "week_of_year",
    "month",
    "day_of_month",
    "is_holiday",
    "days_to_holiday",
    "days_since_holiday",
)
#: The one place the holiday distance is capped (days).
HOLIDAY_CAP_DAYS = 14


class EmptyInputError(ValueError):
    """The daily table has no rows: nothing to forecast (callers degrade with a warning)."""


@dataclass(frozen=True)
class Panel:
    """Series as rows, days as columns (day 0 = earliest date); NaN before a series' first day.

    Calendar arrays are per day and extend ``extra_days`` past the last date.
    """

    series_ids: tuple[str, ...]
    levels: tuple[str, ...]
    day0: dt.date
    n_days: int
    start: np.ndarray  # first day index of each series
    values: dict[str, np.ndarray]  # revenue, units, views, price_index: (n_series, n_days)
    calendar: dict[str, np.ndarray]  # CALENDAR_FEATURES: (n_days + extra_days,)
    holidays: tuple[dt.date, ...]

    @property
    def last(self) -> int:
        return self.n_days - 1

    def date(self, index: int) -> dt.date:
        return self.day0 + dt.timedelta(days=int(index))


def calendar_features(
    dates: Sequence[dt.date], holidays: Sequence[dt.date]
) -> dict[str, np.ndarray]:
    """:data:`CALENDAR_FEATURES` for each date, from the holiday dates (all years given)."""
    ordinals = np.array(sorted({h.toordinal() for h in holidays}), dtype=np.int64)
    days = np.array([d.toordinal() for d in dates], dtype=np.int64)
    out = {
        "day_of_week": np.array([d.isoweekday() for d in dates], dtype=float),
        "week_of_year": np.array([d.isocalendar()[1] for d in dates], dtype=float),
        "month": np.array([d.month for d in dates], dtype=float),
        "day_of_month": np.array([d.day for d in dates], dtype=float),
    }
    if ordinals.size:
        after = np.searchsorted(ordinals, days, side="left")
        nxt = np.where(after < ordinals.size, ordinals[np.minimum(after, ordinals.size - 1)], -1)
        to_next = np.where(nxt >= 0, nxt - days, HOLIDAY_CAP_DAYS)
        before = np.searchsorted(ordinals, days, side="right") - 1
        prev = np.where(before >= 0, ordinals[np.maximum(before, 0)], -1)
        since = np.where(prev >= 0, days - prev, HOLIDAY_CAP_DAYS)
    else:
        to_next = np.full(days.size, HOLIDAY_CAP_DAYS)
        since = np.full(days.size, HOLIDAY_CAP_DAYS)
    out["is_holiday"] = (to_next == 0).astype(float)
    out["days_to_holiday"] = np.minimum(to_next, HOLIDAY_CAP_DAYS).astype(float)
    out["days_since_holiday"] = np.minimum(since, HOLIDAY_CAP_DAYS).astype(float)
    return out


def _day_index(table: pa.Table) -> tuple[np.ndarray, dt.date]:
    date_col = table.column("date")
    if pa.types.is_timestamp(date_col.type):
        date_col = pc.cast(date_col, pa.date32())
    numbers = pc.cast(pc.cast(date_col, pa.date32()), pa.int32()).to_numpy(zero_copy_only=False)
    numbers = numbers.astype(np.int64)
    first = int(numbers.min())
    return numbers - first, dt.date(1970, 1, 1) + dt.timedelta(days=first)


def _check_spine(counts: np.ndarray, series_ids: Sequence[str], last: dt.date) -> np.ndarray:
    if counts.max() > 1:
        raise ValueError("The daily table has more than one row for some (series_id, date).")
    start = np.argmax(counts > 0, axis=1)
    for s, sid in enumerate(series_ids):
        if counts[s, -1] == 0:
            raise ValueError(
                f"Series {sid!r} does not reach the common last date {last}; every series must "
                "end on the same day."
            )
        if not counts[s, start[s] :].all():
            raise ValueError(
                f"Series {sid!r} has missing days; the daily spine must have no gaps "
                "(zero-sales days present as 0)."
            )
    return start


def build_panel(
    daily: ArrowData, extra_days: int, holiday_dates: Sequence[dt.date] | None = None
) -> Panel:
    """The panel of ``daily``; raises :class:`EmptyInputError` without rows, ValueError for a
    malformed table (missing columns, gaps, duplicates, series ending early)."""
    table = as_table(daily)
    require_columns(table, REQUIRED_COLUMNS, "The daily table")
    if table.num_rows == 0:
        raise EmptyInputError("The daily table is empty: there is nothing to forecast.")
    if table.column("series_id").null_count or table.column("date").null_count:
        raise ValueError("The daily table has rows without a series_id or a date.")
    day_index, day0 = _day_index(table)
    n_days = int(day_index.max()) + 1
    ids = np.array(table.column("series_id").to_pylist(), dtype=object)
    series_ids = tuple(sorted(set(ids.tolist())))
    code = {sid: i for i, sid in enumerate(series_ids)}
    rows = np.array([code[s] for s in ids], dtype=np.int64)
    counts = np.zeros((len(series_ids), n_days), dtype=np.int64)
    np.add.at(counts, (rows, day_index), 1)
    start = _check_spine(counts, series_ids, day0 + dt.timedelta(days=n_days - 1))

    values: dict[str, np.ndarray] = {}
    for name in ("revenue", "units", "views", "price_index"):
        grid = np.full(counts.shape, np.nan)
        grid[rows, day_index] = numeric_column(table, name)
        if name != "price_index":
            inside = counts > 0
            grid[inside] = np.nan_to_num(grid[inside], nan=0.0)
        values[name] = grid
    levels = _levels(table, series_ids, rows)
    holidays = tuple(sorted(set(holiday_dates or ())))
    dates = [day0 + dt.timedelta(days=k) for k in range(n_days + extra_days)]
    calendar = calendar_features(dates, holidays)
    return Panel(series_ids, levels, day0, n_days, start, values, calendar, holidays)


def _levels(table: pa.Table, series_ids: Sequence[str], rows: np.ndarray) -> tuple[str, ...]:
    """The series' hierarchy level: the ``series_level`` column, else from the id's prefix."""
    if "series_level" in table.column_names:
        level = table.column("series_level").to_pylist()
        first = {}
        for r, value in zip(rows.tolist(), level, strict=True):
            first.setdefault(r, value)
        return tuple(str(first.get(i) or series_level_of(s)) for i, s in enumerate(series_ids))
    return tuple(series_level_of(s) for s in series_ids)


def series_level_of(series_id: str) -> str:
    """'all', 'category_family', 'category', 'brand' or 'other' from the id's prefix."""
    if series_id == "all":
        return "all"
    prefix = series_id.split(":", 1)[0]
    return {"family": "category_family", "category": "category", "brand": "brand"}.get(
        prefix, "other"
    )


def window_scale(grid: np.ndarray, origin: int) -> np.ndarray:
    """Per-series mean over the series' days up to ``origin``; 1 where it is 0 or undefined."""
    window = grid[:, : origin + 1]
    count = (~np.isnan(window)).sum(axis=1)
    total = np.nansum(window, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = total / count
    return np.where((count > 0) & np.isfinite(scale) & (scale > 0), scale, 1.0)


def recent_scale(grid: np.ndarray, origin: int, days: int) -> np.ndarray:
    """Per-series mean over the ``days`` days up to ``origin`` (the series' days only); 1 where
    it is 0 or undefined: the level the conformal errors are relative to."""
    return window_scale(grid[:, max(origin + 1 - days, 0) :], origin - max(origin + 1 - days, 0))


def check_measure(measure: str) -> None:
    if measure not in MEASURES:
        raise ValueError(f"Unknown measure {measure!r}; choose one of {', '.join(MEASURES)}.")
