"""Public holidays of var holiday_country for the years of the data (from the `holidays`
package, offline), for the forecasting calendar. Thin wrapper over
amazing_analytics.calendar.public_holidays.
"""

from amazing_analytics.calendar import public_holidays
from amazing_analytics.dbt_io import config_int


def model(dbt, session):
    dbt.config(materialized="table")
    return public_holidays(
        str(dbt.config.get("country")),
        config_int(dbt.config.get("first_year"), "first_year"),
        config_int(dbt.config.get("last_year"), "last_year"),
    )
