"""What the logs hold: the lines per month, the event mix, missing values, repeated cart lines
and the purchase prices."""

from __future__ import annotations

import duckdb

from amazing_analytics.generate.stats.measure import (
    ISSUE,
    KAGGLE,
    OWN,
    REES46,
    Statistic,
    first_row,
)

#: Events per month of the full logs (millions); Feb-Mar interpolated.
PUBLISHED_MONTHLY_MILLIONS = {
    "2019-Oct": 42.4,
    "2019-Nov": 67.5,
    "2019-Dec": 67.5,
    "2020-Jan": 56.0,
    "2020-Feb": 59.5,
    "2020-Mar": 63.1,
    "2020-Apr": 66.6,
}


def monthly_volumes(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Each month's share of the lines against the REES46 ratio (+- 0.5 points)."""
    counts = dict(con.execute("select month, count(*) from events group by 1").fetchall())
    months = [m for m in PUBLISHED_MONTHLY_MILLIONS if m in counts]
    published_total = sum(PUBLISHED_MONTHLY_MILLIONS[m] for m in months)
    total = sum(counts[m] for m in months)
    stats = []
    for month in months:
        share = PUBLISHED_MONTHLY_MILLIONS[month] / published_total
        source = KAGGLE if month in ("2019-Oct", "2019-Nov") else REES46
        if month in ("2020-Feb", "2020-Mar"):
            source = "interpolated between Jan and Apr (issue 9)"
        stats.append(
            Statistic(
                f"share of lines in {month}",
                counts[month] / total,
                f"{share:.3f} ({PUBLISHED_MONTHLY_MILLIONS[month]}M)",
                share - 0.005,
                share + 0.005,
                source,
            )
        )
    return stats


def event_mix(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Shares of views, carts, purchases and remove_from_cart."""
    view, cart, purchase, removal = first_row(
        con,
        """select avg((event_type = 'view')::int), avg((event_type = 'cart')::int),
                  avg((event_type = 'purchase')::int),
                  avg((event_type = 'remove_from_cart')::int) from events""",
    )
    return [
        Statistic("share of views", view, "~0.94", 0.92, 0.96, KAGGLE),
        Statistic("share of carts", cart, "~0.036", 0.03, 0.045, KAGGLE),
        Statistic("share of purchases", purchase, "0.015-0.024", 0.015, 0.024, KAGGLE),
        Statistic("share of remove_from_cart", removal, "0 (none in the logs)", 0.0, 0.0, KAGGLE),
    ]


def missing_values(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """category_code missing before / from December, new category_ids in December, brand."""
    early, late, brand = first_row(
        con,
        """select avg((category_code is null)::int) filter (where ts < '2019-12-01'),
                  avg((category_code is null)::int) filter (where ts >= '2019-12-01'),
                  avg((brand is null)::int) from events""",
    )
    (new_ids,) = first_row(
        con,
        """select count(*) from (select category_id, min(ts) as first_ts from events group by 1)
           where first_ts >= '2019-12-01' and first_ts < '2020-01-01'""",
    )
    stats = []
    if early is not None:
        stats.append(
            Statistic("category_code missing, Oct-Nov rows", early, "~0.32", 0.28, 0.36, KAGGLE)
        )
    if late is not None:
        stats.append(
            Statistic("category_code missing, Dec-Apr rows", late, "~0.10", 0.07, 0.13, REES46)
        )
        stats.append(
            Statistic(
                "category_ids first seen in December", new_ids, "> 0 (new ids)", 1, 1e9, REES46
            )
        )
    stats.append(Statistic("brand missing", brand, "0.12-0.14", 0.11, 0.15, KAGGLE))
    return stats


def cart_duplicates(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Share of cart lines that repeat another cart line at the same timestamp."""
    (share,) = first_row(
        con,
        """select 1 - count(distinct (event_time, product_id, user_id, user_session, price))
                      / count(*)
           from events where event_type = 'cart'""",
    )
    return [
        Statistic("cart lines repeated at the same timestamp", share, "present", 0.03, 0.25, ISSUE)
    ]


def purchase_prices(con: duckdb.DuckDBPyConnection) -> list[Statistic]:
    """Median and maximum of the valid purchase prices (0 < price <= 10,000)."""
    median, p99, highest = first_row(
        con,
        """select median(price), quantile_cont(price, 0.99), max(price) from events
           where event_type = 'purchase' and price > 0 and price <= 10000""",
    )
    return [
        Statistic("purchase price, median", median, "~175", 140, 210, ISSUE),
        Statistic("purchase price, p99", p99, "right-skewed tail", 900, 2600, OWN),
        Statistic("purchase price, max", highest, "~2,600", 2000, 2650, ISSUE),
    ]
