"""Conformal prediction intervals (80 % and 95 %) from a model's own past backtest errors.

Errors are ``(actual - yhat) / level``, the level being the series' mean up to the origin the
forecast was made at, so errors of one series at different times (and of different series)
are comparable. A forecast from origin ``o`` for horizon ``h`` (band ``(h - 1) // 7``: days
1-7, 8-14, ...) uses the errors of earlier forecasts of the same model and band whose target day
is at or before ``o`` (known at ``o``, so no look-ahead): the series' own errors when there are
at least :func:`min_errors` of them, else the errors of every series of the same group (the
hierarchy level) pooled for that band, else of every series.
The bounds are the split-conformal finite-sample ranks: with ``n`` errors and level ``1 - a``,
the ``floor((n + 1) a / 2)``-th and the ``ceil((n + 1) (1 - a / 2))``-th smallest error.
Without any calibration error the interval is missing (NaN), never a made-up width.
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


def conformal_bounds(errors: np.ndarray, level: float) -> tuple[float, float]:
    """Finite-sample split-conformal bounds of an error sample (the extremes when too few)."""
    ordered = np.sort(np.asarray(errors, dtype=np.float64))
    n = ordered.size
    if n == 0:
        return math.nan, math.nan
    alpha = 1.0 - level
    # the small epsilon keeps float noise ((1 - 0.8) / 2 = 0.0999...) from moving a rank
    low_rank = int(math.floor((n + 1) * alpha / 2.0 + 1e-9))
    high_rank = int(math.ceil((n + 1) * (1.0 - alpha / 2.0) - 1e-9))
    return float(ordered[max(low_rank, 1) - 1]), float(ordered[min(high_rank, n) - 1])


def band_of(horizon: int) -> np.ndarray:
    """The horizon band (0 = days 1-7) of each horizon day 1..horizon."""
    return np.arange(horizon) // BAND_DAYS


@dataclass
class ErrorBank:
    """The scaled backtest errors of one model, per origin (n_series x horizon, NaN = none)."""

    horizon: int
    origins: list[int] = field(default_factory=list)
    errors: list[np.ndarray] = field(default_factory=list)

    def add(self, origin: int, actual: np.ndarray, yhat: np.ndarray, scale: np.ndarray) -> None:
        """Record the errors of a forecast from ``origin`` (only days that are in the data)."""
        self.origins.append(origin)
        self.errors.append((actual - yhat) / scale[:, None])

    def known_at(self, origin: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per band: errors known at ``origin``, as (per-series list, pooled) arrays."""
        n_bands = int(band_of(self.horizon).max()) + 1
        days = np.arange(1, self.horizon + 1)
        own: list[list[np.ndarray]] = [[] for _ in range(n_bands)]
        for o, err in zip(self.origins, self.errors, strict=True):
            known = o + days <= origin
            for b in range(n_bands):
                pick = known & (band_of(self.horizon) == b)
                if pick.any():
                    own[b].append(err[:, pick])
        stacked = [np.concatenate(parts, axis=1) if parts else None for parts in own]
        return stacked, [s[np.isfinite(s)] if s is not None else np.zeros(0) for s in stacked]

    def series_mae(self, origin: int) -> np.ndarray:
        """Per series: the mean absolute scaled error over every band known at ``origin``."""
        per_series, _ = self.known_at(origin)
        parts = [p for p in per_series if p is not None]
        if not parts:
            return np.full(0 if not self.errors else self.errors[0].shape[0], np.nan)
        block = np.abs(np.concatenate(parts, axis=1))
        count = np.isfinite(block).sum(axis=1)
        total = np.nansum(block, axis=1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)

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
        per_series, pooled = self.known_at(origin)
        need = min_errors(level)
        for b in range(int(bands.max()) + 1):
            if per_series[b] is None:
                continue
            fallback = {}
            for g in np.unique(groups):
                block = per_series[b][groups == g]
                block = block[np.isfinite(block)]
                fallback[g] = conformal_bounds(block if block.size >= need else pooled[b], level)
            cols = bands == b
            for s in range(n_series):
                own = per_series[b][s][np.isfinite(per_series[b][s])]
                lo, hi = conformal_bounds(own, level) if own.size >= need else fallback[groups[s]]
                if math.isnan(lo):
                    continue
                lower[s, cols] = yhat[s, cols] + min(lo, 0.0) * scale[s]
                upper[s, cols] = yhat[s, cols] + max(hi, 0.0) * scale[s]
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
