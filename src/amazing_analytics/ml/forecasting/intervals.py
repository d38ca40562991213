"""Conformal prediction intervals (80 % and 95 %) from a model's own past backtest errors.

Errors are ``(actual - yhat) / level``, the level being the series' recent mean at the origin
the forecast was made at (see :func:`~.panel.recent_scale`), so errors of one series at
different times (and of different series) are comparable. A forecast from origin ``o`` for
horizon ``h`` (band ``(h - 1) // 7``: days 1-7, 8-14, ...) uses the errors of earlier forecasts
of the same model whose target day is at or before ``o`` (known at ``o``, so no look-ahead),
from the latest :data:`WINDOW_ORIGINS` origins that have such errors (a rolling window: the
errors of a December peak do not set the width in April; see :data:`WINDOW_ORIGINS` for its
length). Pooling, first that has at least
:func:`min_errors` errors: the series' own errors of that band; the series' own errors of every
band up to ``h``'s (pooled by horizon band); the errors of that band of every series of the
same group (the hierarchy level); of every series.
The bounds are the split-conformal finite-sample ranks: with ``n`` errors and level ``1 - a``,
the ``floor((n + 1) a / 2)``-th and the ``ceil((n + 1) (1 - a / 2))``-th smallest error.
Without any calibration error the interval is missing (NaN), never a made-up width.

Sales cannot fall below 0, and a small series has many days at 0. Its error on such a day is
``-yhat / level``, which depends on the forecast of that day, not only on the noise: a past
forecast that was low relative to the level gives a small negative error, and today's higher
forecast would get a lower bound above 0 that misses every day without a sale (AutoETS on the
demo's small categories covered 71 % at 80 % for that reason). So a day whose actual was 0
scores ``-inf`` in the calibration ("below any lower bound above 0"). Where the lower bound
then is at 0 (the zeros reach the lower rank, or the bound falls below 0 anyway), no actual
can fall below the interval, and the upper bound is the one-sided ``ceil((n + 1) (1 - a))``-th
error: the interval ``[0, upper]`` covers ``1 - a`` of the days, not ``1 - a / 2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LEVELS: tuple[float, ...] = (0.8, 0.95)
BAND_DAYS = 7


def min_errors(level: float) -> int:
    """The fewest errors whose finite-sample ranks stay inside the sample at ``level``."""
    return int(math.ceil(2.0 / (1.0 - level) - 1e-9)) - 1


#: The latest origins with known errors an interval is calibrated on (a rolling window): the
#: fewest weekly origins whose errors of one horizon band (7 days each) are enough for the
#: widest level on their own (39 errors for 95 %: 6 origins, 42 errors), so one series needs no
#: other series' errors, and the window forgets a past regime as soon as it can. With 8
#: origins the errors of Black Friday and of the Christmas-to-January drop still set the whole
#: shop's width in February (docs/forecasting.md); on stationary simulated errors 6 and 8 give
#: the same coverage (tests/python/test_forecasting.py).
WINDOW_ORIGINS = math.ceil(min_errors(max(LEVELS)) / BAND_DAYS)
#: The latest origins whose errors rank the models of a series (:meth:`ErrorBank.series_mae`:
#: the combinations' members, the reconciled candidate's base models): an accuracy ranking,
#: not a calibration, so it keeps the window it was measured with.
RANKING_WINDOW_ORIGINS = 8


def conformal_bounds(errors: np.ndarray, level: float) -> tuple[float, float]:
    """Finite-sample split-conformal bounds of an error sample (the extremes when too few)."""
    low, high = conformal_bounds_of([np.asarray(errors, dtype=np.float64)], level)
    return float(low[0]), float(high[0])


def conformal_bounds_of(samples: list[np.ndarray], level: float) -> tuple[np.ndarray, np.ndarray]:
    """:func:`conformal_bounds` of each sample (NaN for an empty one)."""
    low, high, _ = conformal_quantiles(samples, level)
    return low, high


def conformal_quantiles(
    samples: list[np.ndarray], level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per sample (NaN for an empty one): the two-sided bounds at ``level`` and the one-sided
    upper bound (the ``ceil((n + 1) level)``-th smallest). A sample given once (a series' own
    errors) is sorted together with the others in one padded array; one given several times (a
    pooled array shared by series) is sorted once on its own."""
    first: dict[int, int] = {}
    index = np.array([first.setdefault(id(x), len(first)) for x in samples], dtype=np.int64)
    distinct: list[np.ndarray] = [np.zeros(0)] * len(first)
    for x, k in zip(samples, index.tolist(), strict=True):
        distinct[k] = x
    sizes = np.array([x.size for x in distinct], dtype=np.int64)
    shared = np.bincount(index, minlength=len(distinct)) > 1
    alpha = 1.0 - level
    # the small epsilon keeps float noise ((1 - 0.8) / 2 = 0.0999...) from moving a rank
    low_rank = np.floor((sizes + 1) * alpha / 2.0 + 1e-9).astype(np.int64)
    high_rank = np.ceil((sizes + 1) * (1.0 - alpha / 2.0) - 1e-9).astype(np.int64)
    upper_rank = np.ceil((sizes + 1) * (1.0 - alpha) - 1e-9).astype(np.int64)
    ranks = [np.clip(r, 1, np.maximum(sizes, 1)) - 1 for r in (low_rank, high_rank, upper_rank)]
    out = [np.full(len(distinct), np.nan) for _ in ranks]
    alone = np.flatnonzero(~shared & (sizes > 0))
    if alone.size:
        padded = np.full((alone.size, int(sizes[alone].max())), np.inf)
        for row, k in enumerate(alone.tolist()):
            padded[row, : sizes[k]] = distinct[k]
        padded.sort(axis=1)
        rows = np.arange(alone.size)
        for values, rank in zip(out, ranks, strict=True):
            values[alone] = padded[rows, rank[alone]]
    for k in np.flatnonzero(shared & (sizes > 0)).tolist():
        ordered = np.sort(distinct[k])
        for values, rank in zip(out, ranks, strict=True):
            values[k] = ordered[rank[k]]
    low, high, upper = (values[index] for values in out)
    return low, high, upper


def _defined(values: np.ndarray) -> np.ndarray:
    """The values that are not NaN (``-inf`` scores stay), flattened."""
    return values[~np.isnan(values)]


def band_of(horizon: int) -> np.ndarray:
    """The horizon band (0 = days 1-7) of each horizon day 1..horizon."""
    return np.arange(horizon) // BAND_DAYS


@dataclass
class ErrorBank:
    """The scaled backtest errors of one model, per origin (n_series x horizon, NaN = none),
    and where the actual was at the floor of 0 (``floors``, same shapes; none when empty).

    ``window``: the latest origins (with errors known at the asking origin) an interval is
    calibrated on; ``ranking_window``: those the models of a series are ranked on
    (:meth:`series_mae`); None = every earlier origin."""

    horizon: int
    origins: list[int] = field(default_factory=list)
    errors: list[np.ndarray] = field(default_factory=list)
    window: int | None = WINDOW_ORIGINS
    ranking_window: int | None = RANKING_WINDOW_ORIGINS
    floors: list[np.ndarray] = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.floors and len(self.floors) != len(self.errors):
            raise ValueError("ErrorBank: floors must be empty or one per origin's errors.")

    def add(self, origin: int, actual: np.ndarray, yhat: np.ndarray, scale: np.ndarray) -> None:
        """Record the errors of a forecast from ``origin`` (only days that are in the data)."""
        if self.errors and not self.floors:
            raise ValueError("ErrorBank.add: this bank was given errors without their floors.")
        self.origins.append(origin)
        self.errors.append((actual - yhat) / scale[:, None])
        self.floors.append(np.nan_to_num(actual, nan=1.0) <= 0.0)
        self._cache.clear()

    def _scores(self, k: int) -> np.ndarray:
        """Origin ``k``'s calibration scores: its finite errors, -inf where the actual was 0."""
        err = np.where(np.isfinite(self.errors[k]), self.errors[k], np.nan)
        if not self.floors:
            return err
        return np.where(self.floors[k] & ~np.isnan(err), -np.inf, err)

    def known_at(
        self, origin: int, window: int | None, scores: bool = False
    ) -> tuple[list[np.ndarray | None], list[np.ndarray]]:
        """Per band: the errors (``scores``: the calibration scores) known at ``origin`` from
        the latest ``window`` origins (None: all) that have any in that band, as (n_series x
        k, or None) and the defined ones of every series pooled."""
        key = ("known", origin, window, scores)
        if key not in self._cache:
            bands = band_of(self.horizon)
            n_bands = int(bands.max()) + 1
            days = np.arange(1, self.horizon + 1)
            own: list[list[np.ndarray]] = [[] for _ in range(n_bands)]
            for k in sorted(range(len(self.origins)), key=lambda k: -self.origins[k]):
                known = self.origins[k] + days <= origin
                err = self._scores(k) if scores else self.errors[k]
                for b in range(n_bands):
                    if window is not None and len(own[b]) >= window:
                        continue
                    pick = known & (bands == b)
                    if pick.any():
                        own[b].append(err[:, pick])
            stacked = [np.concatenate(parts, axis=1) if parts else None for parts in own]
            defined = _defined if scores else (lambda s: s[np.isfinite(s)])
            pooled = [defined(s) if s is not None else np.zeros(0) for s in stacked]
            self._cache[key] = (stacked, pooled)
        return self._cache[key]

    def known_matrix(self, origin: int) -> np.ndarray:
        """Every error known at ``origin`` (all earlier origins, no window), n_series x k, the
        columns in (origin, day) order: the same columns in every bank of one backtest."""
        days = np.arange(1, self.horizon + 1)
        parts = [
            err[:, o + days <= origin] for o, err in zip(self.origins, self.errors, strict=True)
        ]
        n_series = self.errors[0].shape[0] if self.errors else 0
        return np.concatenate(parts, axis=1) if parts else np.zeros((n_series, 0))

    def series_mae(self, origin: int) -> np.ndarray:
        """Per series: the mean absolute scaled error over every band known at ``origin``, from
        the latest :attr:`ranking_window` origins."""
        per_series, _ = self.known_at(origin, self.ranking_window)
        parts = [p for p in per_series if p is not None]
        if not parts:
            return np.full(0 if not self.errors else self.errors[0].shape[0], np.nan)
        block = np.abs(np.concatenate(parts, axis=1))
        count = np.isfinite(block).sum(axis=1)
        total = np.nansum(block, axis=1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

    def calibration_sets(
        self, origin: int, n_series: int, level: float, groups: np.ndarray
    ) -> list[list[np.ndarray]]:
        """Per band, per series: the calibration scores (see the module docstring)."""
        per_series, pooled = self.known_at(origin, self.window, scores=True)
        need = min_errors(level)
        out: list[list[np.ndarray]] = []
        empty = np.zeros(0)
        for b, block in enumerate(per_series):
            if block is None:
                out.append([empty] * n_series)
                continue
            earlier = [p for p in per_series[: b + 1] if p is not None]
            across = np.concatenate(earlier, axis=1)
            by_group = {}
            for g in np.unique(groups):
                rows = _defined(block[groups == g])
                by_group[g] = rows if rows.size >= need else pooled[b]
            sets = []
            for s in range(n_series):
                own = _defined(block[s])
                if own.size < need:
                    wider = _defined(across[s])
                    own = wider if wider.size >= need else by_group[groups[s]]
                sets.append(own)
            out.append(sets)
        return out

    def interval(
        self,
        origin: int,
        yhat: np.ndarray,
        scale: np.ndarray,
        level: float,
        groups: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Bounds for forecasts ``yhat`` (n_series x horizon) made at ``origin``; NaN where no
        calibration error exists. ``groups`` (one label per series) sets the pooling.
        Always ``0 <= lower <= yhat <= upper`` where defined."""
        n_series, horizon = yhat.shape
        groups = np.zeros(n_series, dtype=int) if groups is None else np.asarray(groups)
        bands = band_of(horizon)
        lower = np.full(yhat.shape, np.nan)
        upper = np.full(yhat.shape, np.nan)
        sets = self.calibration_sets(origin, n_series, level, groups)
        for b in range(min(int(bands.max()) + 1, len(sets))):
            cols = bands == b
            lo, hi, one_sided = conformal_quantiles(sets[b], level)  # NaN stays NaN below
            with np.errstate(invalid="ignore"):  # -inf x a level of 0: replaced below
                offset = np.where(lo == -np.inf, -np.inf, np.minimum(lo, 0.0) * scale)
            low = yhat[:, cols] + offset[:, None]
            floor = low <= 0.0  # nothing can fall below: the one-sided upper bound
            high = np.where(floor, one_sided[:, None], hi[:, None])
            lower[:, cols] = low
            upper[:, cols] = yhat[:, cols] + np.maximum(high, 0.0) * scale[:, None]
        lower = np.where(np.isnan(lower), np.nan, np.clip(np.minimum(lower, yhat), 0.0, None))
        upper = np.where(np.isnan(upper), np.nan, np.maximum(upper, yhat))
        return lower, upper


def nest_intervals(
    bounds: dict[float, tuple[np.ndarray, np.ndarray]],
) -> dict[float, tuple[np.ndarray, np.ndarray]]:
    """Make each wider level's interval contain the narrower ones (80 % inside 95 %).

    The levels may be calibrated on different errors (a level that needs more errors than a
    series has falls back to the pooled ones), so nesting is not automatic. Where a wider bound
    is undefined (NaN) it stays undefined."""
    nested: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for level in sorted(bounds):
        lower, upper = bounds[level]
        if previous is not None:
            lower = np.where(np.isnan(lower), np.nan, np.fmin(lower, previous[0]))
            upper = np.where(np.isnan(upper), np.nan, np.fmax(upper, previous[1]))
        nested[level] = (lower, upper)
        previous = (lower, upper)
    return nested
