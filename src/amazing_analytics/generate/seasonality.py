"""Time structure of the synthetic shop: daily intensity, hourly cycle, promotions, in-house ramp.

All functions are deterministic (no randomness) and work for any date span, so the generator can
be run outside the default October 2019 - April 2020 window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

#: Shop local time is Moscow (UTC+3); the logs are in UTC.
UTC_OFFSET_HOURS = 3
#: Relative activity per local hour 0..23 (night trough, evening peak).
HOURLY_PROFILE_LOCAL: tuple[float, ...] = (
    0.35,
    0.20,
    0.12,
    0.08,
    0.07,
    0.10,
    0.20,
    0.40,
    0.65,
    0.85,
    1.00,
    1.05,
    1.05,
    1.05,
    1.05,
    1.05,
    1.10,
    1.20,
    1.35,
    1.45,
    1.45,
    1.30,
    1.00,
    0.65,
)
#: Relative activity Monday..Sunday (weekends busier).
WEEKDAY_FACTOR: tuple[float, ...] = (1.00, 0.98, 0.97, 0.97, 0.95, 1.10, 1.16)
#: Linear traffic growth per year from the start of the span.
TREND_PER_YEAR = 0.15
#: Traffic multipliers around Black Friday (offset in days from Black Friday -> factor).
BLACK_FRIDAY_TRAFFIC: dict[int, float] = {
    -7: 1.12,
    -6: 1.12,
    -5: 1.12,
    -4: 1.12,
    -3: 1.12,
    -2: 1.12,
    -1: 1.15,
    0: 2.6,
    1: 1.6,
    2: 1.45,
    3: 1.7,
}
#: Multipliers of P(purchase | cart) around Black Friday (offset -> factor).
BLACK_FRIDAY_CONVERSION: dict[int, float] = {0: 1.35, 1: 1.15, 2: 1.15, 3: 1.2}
#: Multiplier of P(purchase | cart) in the pre-Christmas gift rush (December 15-23).
DECEMBER_GIFT_CONVERSION = 1.1
#: Price multiplier (discount) from Black Friday to Cyber Monday.
BLACK_FRIDAY_PRICE_FACTOR = 0.9
#: Price multipliers that can occur (used to pre-format price strings).
PRICE_LEVELS: tuple[float, ...] = (1.0, BLACK_FRIDAY_PRICE_FACTOR)

#: Events per calendar month of the REES46 multi-category logs, in millions (Oct 2019 - Apr 2020;
#: February and March interpolated linearly between January and April). The generator spreads
#: ``--events`` over the months of its span in this ratio (a partial month by its share of days).
MONTHLY_EVENTS_MILLIONS: dict[int, float] = {
    10: 42.4,
    11: 67.5,
    12: 67.5,
    1: 56.0,
    2: 59.5,
    3: 63.1,
    4: 66.6,
}
#: Volume of a month outside October-April (the April level).
OTHER_MONTH_EVENTS_MILLIONS = 66.6

HOURLY_PROFILE_UTC = np.roll(np.array(HOURLY_PROFILE_LOCAL), -UTC_OFFSET_HOURS)


def black_friday(year: int) -> date:
    """Black Friday of ``year``: the day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def _season_factor(d: date) -> float:
    """Calendar multiplier of traffic for a day (December peak, January dip, holidays)."""
    m, day = d.month, d.day
    if m == 12:
        if day <= 23:
            return 1.10 + 0.35 * (day - 1) / 22
        return {24: 1.2, 25: 1.05, 31: 0.75}.get(day, 1.3)
    if m == 1:
        if day == 1:
            return 0.45
        return 0.70 if day <= 8 else 0.85
    if m == 2:
        if 10 <= day <= 13:
            return 1.08
        return 1.10 if 20 <= day <= 22 else 0.95
    if m == 3 and 4 <= day <= 7:
        return 1.20
    return 1.0


@dataclass(frozen=True)
class Calendar:
    """Per-day factors of a span, arrays indexed by the day index (0 = start).

    Attributes:
        days: The dates of the span.
        intensity: Relative expected number of sessions starting that day.
        conversion: Multiplier of P(purchase | cart).
        price_level: Index into :data:`PRICE_LEVELS` (price multiplier of the day).
        day_epoch: Unix time (seconds) of the day's midnight UTC.
        months: ``(year, month, first_day_index, last_day_index_exclusive)`` per calendar month.
    """

    days: list[date]
    intensity: np.ndarray
    conversion: np.ndarray
    price_level: np.ndarray
    day_epoch: np.ndarray
    months: list[tuple[int, int, int, int]]

    @property
    def n_days(self) -> int:
        """Number of days in the span."""
        return len(self.days)

    @property
    def price_factor(self) -> np.ndarray:
        """Price multiplier per day."""
        return np.array(PRICE_LEVELS)[self.price_level]


def build_calendar(start: date, end: date) -> Calendar:
    """Compute the daily factors of the span ``start..end`` (inclusive)."""
    n = (end - start).days + 1
    days = [start + timedelta(days=i) for i in range(n)]
    intensity = np.empty(n)
    conversion = np.ones(n)
    price_level = np.zeros(n, dtype=np.int8)
    for i, d in enumerate(days):  # loop over days only
        f = WEEKDAY_FACTOR[d.weekday()] * (1.0 + TREND_PER_YEAR * i / 365.0)
        offset = (d - black_friday(d.year)).days
        f *= BLACK_FRIDAY_TRAFFIC.get(offset, 1.0)
        f *= _season_factor(d)
        intensity[i] = f
        conversion[i] = BLACK_FRIDAY_CONVERSION.get(offset, 1.0)
        if d.month == 12 and 15 <= d.day <= 23:
            conversion[i] *= DECEMBER_GIFT_CONVERSION
        if 0 <= offset <= 3:
            price_level[i] = 1
    epoch0 = (start - date(1970, 1, 1)).days * 86400
    day_epoch = epoch0 + 86400 * np.arange(n, dtype=np.int64)
    months: list[tuple[int, int, int, int]] = []
    for i, d in enumerate(days):
        if not months or (months[-1][0], months[-1][1]) != (d.year, d.month):
            months.append((d.year, d.month, i, i + 1))
        else:
            y, m, a, _ = months[-1]
            months[-1] = (y, m, a, i + 1)
    return Calendar(days, intensity, conversion, price_level, day_epoch, months)


def month_line_shares(cal: Calendar) -> np.ndarray:
    """Share of the span's event lines per calendar month of ``cal`` (the REES46 ratio)."""
    weights = []
    for year, month, first, end in cal.months:
        next_month = date(year + month // 12, month % 12 + 1, 1)
        days_in_month = (next_month - date(year, month, 1)).days
        volume = MONTHLY_EVENTS_MILLIONS.get(month, OTHER_MONTH_EVENTS_MILLIONS)
        weights.append(volume * (end - first) / days_in_month)
    shares = np.array(weights)
    return shares / shares.sum()


def in_house_ramp_start(start: date, end: date) -> date:
    """First day of the in-house decline: first of the month five months before ``end``'s month.

    For the default span (ending 2020-04-30) this is 2019-11-01, i.e. the ramp covers the last two
    quarters. Never earlier than ``start``.
    """
    y, m = end.year, end.month - 5
    while m <= 0:
        y, m = y - 1, m + 12
    return max(start, date(y, m, 1))


def in_house_weight(cal: Calendar, ramp_start: date, end_weight: float) -> np.ndarray:
    """Choice weight of in-house products per day: 1 until ``ramp_start``, linear to the end."""
    days = np.array([(d - ramp_start).days for d in cal.days], dtype=float)
    span = max(1.0, float((cal.days[-1] - ramp_start).days))
    frac = np.clip(days / span, 0.0, 1.0)
    return 1.0 - (1.0 - end_weight) * frac
