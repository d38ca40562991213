"""Helpers for the thin dbt Python models: read relations as Arrow, read typed config."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from amazing_analytics.ml.arrow_utils import as_table


def read_arrow(relation: Any) -> pa.Table:
    """A dbt-duckdb relation (``dbt.ref(...)``) as a pyarrow Table, without pandas.

    DuckDB 2's ``relation.arrow()`` is a RecordBatchReader; older versions return a Table.
    """
    return as_table(relation.arrow())


def config_int(value: Any, key: str) -> int:
    """An integer passed through model config (dbt-duckdb has no ``dbt.var`` in Python models).

    Call it as ``config_int(dbt.config.get("k"), "k")``: dbt only hands a Python model the config
    keys it sees in literal ``dbt.config.get("...")`` calls of the model file.
    """
    if value is None or str(value).strip() == "":
        raise ValueError(
            f"model config '{key}' is not set: pass it from the var in the model's yml"
        )
    return int(str(value).strip())


def config_float(value: Any, key: str) -> float:
    """A number passed through model config; see :func:`config_int` for why keys are literal."""
    if value is None or str(value).strip() == "":
        raise ValueError(
            f"model config '{key}' is not set: pass it from the var in the model's yml"
        )
    return float(str(value).strip())
