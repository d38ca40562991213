"""Read-only access to a built warehouse (DuckDB allows one writer: readers open read-only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

#: The BI contract: the staging tables an auditor reads, then the marts with an enforced dbt
#: model contract, which the Power BI report reads (exposure power_bi_report). One list in three
#: places, checked equal by tests/python/test_exports.py: the contracts in the ymls, the
#: exposure's depends_on and the README's BI-contract table.
MAIN_MARTS: tuple[str, ...] = (
    "staging.stg_events",
    "staging.events_quarantine",
    "marts.data_quality_report",
    "marts.data_quality_by_file",
    "marts.sessions",
    "marts.orders",
    "marts.products",
    "marts.customers",
    "marts.daily_category_sales",
    "marts.kpi_daily",
    "marts.kpi_weekly",
    "marts.product_performance",
    "marts.brand_performance",
    "marts.customer_features",
    "marts.customer_rfm",
    "marts.segment_profiles",
    "marts.campaign_audiences",
    "marts.price_elasticity",
    "marts.price_suggestions",
    "marts.stock_plan_backtest",
)

#: The ML marts (segmentation, propensity, recommendations, forecasting) built on top of them.
ANALYTICS_MARTS: tuple[str, ...] = (
    "marts.customer_segments",
    "marts.customer_propensity",
    "marts.propensity_evaluation",
    "marts.recommendations",
    "marts.recommender_evaluation",
    "marts.similar_products",
    "marts.item_embeddings",
    "marts.popular_products",
    "marts.session_item_neighbours",
    "marts.session_recommender_evaluation",
    "marts.sales_forecast",
    "marts.forecast_evaluation",
)

RECONCILIATION_CHECKS: tuple[str, ...] = (
    "input_rows",
    "clean_rows",
    "quarantined_rows",
    "duplicate_rows",
    "gdpr_erased_rows",
    "retention_dropped_rows",
    "unreconciled_rows",
)


@dataclass(frozen=True)
class WarehouseSummary:
    path: Path
    row_counts: dict[str, int | None] = field(default_factory=dict)
    reconciliation: dict[str, int] = field(default_factory=dict)


def summarise_warehouse(path: Path) -> WarehouseSummary:
    """Row counts of the main marts and the reconciliation lines of the data audit."""
    if not path.exists():
        raise FileNotFoundError(f"no warehouse at {path}: run `make demo` (or `dbt build`) first")
    with duckdb.connect(str(path), read_only=True) as con:
        existing = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        counts: dict[str, int | None] = {}
        for name in (*MAIN_MARTS, *ANALYTICS_MARTS):
            row = (
                con.execute(f"select count(*) from {name}").fetchone() if name in existing else None
            )
            counts[name] = int(row[0]) if row else None
        reconciliation: dict[str, int] = {}
        if "marts.data_quality_report" in existing:
            rows = con.execute(
                "select check_name, rows_affected from marts.data_quality_report "
                "where check_name in (select unnest($checks)) order by sort_order",
                {"checks": list(RECONCILIATION_CHECKS)},
            ).fetchall()
            reconciliation = {str(name): int(value) for name, value in rows}
    return WarehouseSummary(path=path, row_counts=counts, reconciliation=reconciliation)
