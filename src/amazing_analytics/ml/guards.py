"""The guards every ML module shares: one error for too little data, one column check.

A model that cannot be fitted on the data it is given raises :class:`InsufficientDataError`
(its build step turns it into the documented fallback and a WARN); a table without the columns a
step needs fails with :class:`MissingColumnsError` naming them.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa


class InsufficientDataError(ValueError):
    """The data are too thin to fit or evaluate a model; the message says what is missing."""


class MissingColumnsError(ValueError):
    """An input table lacks columns a step needs."""


def missing_columns(table: pa.Table, columns: Sequence[str]) -> list[str]:
    """The names of ``columns`` that ``table`` lacks, in their given order."""
    present = set(table.column_names)
    return [name for name in columns if name not in present]


def require_columns(
    table: pa.Table,
    columns: Sequence[str],
    role: str,
    *,
    error: type[Exception] = MissingColumnsError,
) -> None:
    """Raise ``error`` ("<role> lacks column(s) a, b") when ``table`` lacks any of ``columns``."""
    missing = missing_columns(table, columns)
    if missing:
        raise error(f"{role} lacks column(s) {', '.join(missing)}")
