"""Public holidays for the forecasting calendar, from the `holidays` package (offline)."""

from __future__ import annotations

import datetime as dt

import holidays
import pyarrow as pa


def public_holidays(country: str, first_year: int, last_year: int) -> pa.Table:
    """One row per public holiday of `country` (ISO code, e.g. 'US', 'RU', 'DE') in the years:
    holiday_date, holiday_name, country. Raises ValueError for an unknown country code."""
    if first_year > last_year:
        raise ValueError(f"first_year {first_year} is after last_year {last_year}")
    try:
        calendar = holidays.country_holidays(
            country.upper(), years=range(first_year, last_year + 1)
        )
    except NotImplementedError as error:
        raise ValueError(f"no public-holiday calendar for country code {country!r}") from error
    days: list[tuple[dt.date, str]] = sorted(calendar.items())
    return pa.table(
        {
            "holiday_date": pa.array([day for day, _ in days], pa.date32()),
            "holiday_name": pa.array([name for _, name in days], pa.string()),
            "country": pa.array([country.upper()] * len(days), pa.string()),
        }
    )
