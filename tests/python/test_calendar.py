"""Public holidays for the forecasting calendar."""

import datetime as dt

import pytest

from amazing_analytics.calendar import public_holidays


def test_us_holidays_include_thanksgiving_and_christmas() -> None:
    table = public_holidays("us", 2019, 2020)
    days = dict(
        zip(table["holiday_date"].to_pylist(), table["holiday_name"].to_pylist(), strict=True)
    )
    assert dt.date(2019, 11, 28) in days  # Thanksgiving, the day before Black Friday
    assert dt.date(2019, 12, 25) in days
    assert set(table["country"].to_pylist()) == {"US"}
    assert table["holiday_date"].to_pylist() == sorted(days)


def test_unknown_country_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="no public-holiday calendar"):
        public_holidays("XX", 2019, 2019)
