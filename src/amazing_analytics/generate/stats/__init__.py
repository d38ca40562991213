"""Statistics of generated (or real) REES46 files beside the published figures of the full logs.

Used by ``scripts/demo_stats.py`` (``make demo-stats``) and by the generator's tests, so the
table in docs/demo_data.md and the test measure the same way. Every function takes a DuckDB
connection prepared by :func:`connect` (a table ``events`` with ``ts`` and ``month`` columns).

Modules: ``measure`` (the statistic, the connection, the table), ``volume`` (what the logs
hold) and ``behaviour`` (how shoppers behave); :func:`measure_all` runs them all.
"""

from __future__ import annotations

from pathlib import Path

from amazing_analytics.generate.stats.behaviour import (
    NEXT_ITEM_K,
    NEXT_ITEM_TEST_DAYS,
    in_house_decline,
    multi_day_buyers,
    next_item_hit_rates,
    popularity_gini,
    revisits,
    session_shape,
)
from amazing_analytics.generate.stats.measure import (
    COLUMNS,
    ISSUE,
    KAGGLE,
    OWN,
    REES46,
    T4REC,
    Statistic,
    connect,
    first_row,
    markdown_table,
)
from amazing_analytics.generate.stats.volume import (
    PUBLISHED_MONTHLY_MILLIONS,
    cart_duplicates,
    event_mix,
    missing_values,
    monthly_volumes,
    purchase_prices,
)


def measure_all(directory: Path) -> list[Statistic]:
    """Every statistic of the generated files in ``directory``."""
    con = connect(directory)
    stats: list[Statistic] = []
    for measure in (
        monthly_volumes,
        event_mix,
        session_shape,
        multi_day_buyers,
        revisits,
        missing_values,
        cart_duplicates,
        popularity_gini,
        purchase_prices,
        next_item_hit_rates,
    ):
        stats.extend(measure(con))
    stats.extend(in_house_decline(con, Path(directory) / "ground_truth"))
    return stats


__all__ = [
    "COLUMNS",
    "ISSUE",
    "KAGGLE",
    "NEXT_ITEM_K",
    "NEXT_ITEM_TEST_DAYS",
    "OWN",
    "PUBLISHED_MONTHLY_MILLIONS",
    "REES46",
    "T4REC",
    "Statistic",
    "cart_duplicates",
    "connect",
    "event_mix",
    "first_row",
    "in_house_decline",
    "markdown_table",
    "measure_all",
    "missing_values",
    "monthly_volumes",
    "multi_day_buyers",
    "next_item_hit_rates",
    "popularity_gini",
    "purchase_prices",
    "revisits",
    "session_shape",
]
