"""Arrow helpers shared by the ML modules: accept what dbt-duckdb hands over, read numbers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: What table arguments accept: duckdb 2's ``relation.arrow()`` (so ``dbt.ref(...).arrow()``)
#: returns a RecordBatchReader; it is read to a Table once.
ArrowData = pa.Table | pa.RecordBatchReader | pa.RecordBatch


class NonNumericColumnError(TypeError, ValueError):
    """A feature column is not numeric (a TypeError and, for older callers, a ValueError)."""


def as_table(data: ArrowData) -> pa.Table:
    """A pyarrow Table from a Table, a RecordBatchReader (read once) or a RecordBatch."""
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    raise TypeError(f"expected a pyarrow Table, RecordBatchReader or RecordBatch, got {type(data)}")


def as_reader(data: ArrowData) -> pa.RecordBatchReader:
    """The same data batch by batch: a RecordBatchReader is passed on unread (it streams), a
    Table or a RecordBatch is wrapped."""
    if isinstance(data, pa.RecordBatchReader):
        return data
    table = as_table(data)
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())


def numeric_column(table: pa.Table, name: str) -> np.ndarray:
    """A numeric (int, float, decimal, bool) column as a fresh float64 array, NaN for nulls."""
    column = table.column(name)
    if not (
        pa.types.is_integer(column.type)
        or pa.types.is_floating(column.type)
        or pa.types.is_decimal(column.type)
        or pa.types.is_boolean(column.type)
        or pa.types.is_null(column.type)
    ):
        raise NonNumericColumnError(f"column {name!r} must be numeric, got {column.type}")
    values = pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False)
    return np.array(values, dtype=np.float64, copy=True)


def list_matrix(
    column: pa.ChunkedArray | pa.Array, error: type[Exception], what: str
) -> np.ndarray:
    """A column of numeric lists of one length (embeddings) as a (rows, length) float32 matrix.

    Lists of unequal length raise ``error`` naming ``what``, not a ragged array; no rows give a
    (0, 0) matrix.
    """
    if len(column) == 0:
        return np.zeros((0, 0), np.float32)
    lengths = np.asarray(pc.list_value_length(column).to_numpy(zero_copy_only=False))
    if (lengths != lengths[0]).any():
        raise error(
            f"{what} have lists of {sorted(set(lengths.tolist()))[:5]} values; "
            "every row needs the same dimension"
        )
    flat = pc.list_flatten(column).to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(lengths.size, -1)
