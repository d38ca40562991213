"""The build's warehouse as the model cards read it (read-only), and what a card is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb


class ModelCardError(RuntimeError):
    """The warehouse cannot give the cards (missing, locked, or not built)."""


@dataclass(frozen=True)
class Card:
    name: str
    text: str


class WarehouseReader:
    """The tables of the build and the rows of a query."""

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self.connection = connection
        self.tables = {
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }

    def has(self, table: str) -> bool:
        return table in self.tables

    def rows(self, sql: str, params: Sequence[object] | None = None) -> list[tuple]:
        return self.connection.execute(sql, params or []).fetchall()

    def features_as_of(self) -> date | None:
        """The day the shopper features are as of (the ML's "today"), None without them."""
        if not self.has("marts.customer_features"):
            return None
        return self.rows("select max(as_of_date) from marts.customer_features")[0][0]

    def overall_audit(self, model_family: str, columns: str) -> tuple | None:
        """``columns`` of a model family's overall row in the bias audit, None without one."""
        if not self.has("marts.model_fairness_audit"):
            return None
        found = self.rows(
            f"select {columns} from marts.model_fairness_audit "
            "where model_family = ? and slice_type = 'all'",
            [model_family],
        )
        return found[0] if found else None
