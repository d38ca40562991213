"""The serving bundle's format: its tables and their schemas, the manifest's name and version,
the folders of the atomic swap, and the one error of the bundle."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

FORMAT_VERSION = 1


MANIFEST = "manifest.json"


BUILDS_DIR = ".serving-builds"


TMP_PREFIX = ".serving.tmp-"


#: Builds kept beside the current one (an API may still be reading the previous one).
KEEP_PREVIOUS = 1


_EMBEDDING = pa.list_(pa.float32())


#: The bundle's tables: name -> schema. Each is written to ``<name>.parquet``.
SCHEMAS: dict[str, pa.Schema] = {
    "products": pa.schema(
        [
            ("product_id", pa.int64()),
            ("category_id", pa.int64()),
            ("category_code", pa.string()),
            ("category_level_1", pa.string()),
            ("brand", pa.string()),
            ("description", pa.string()),
            ("is_repeat_purchase_category", pa.bool_()),
        ]
    ),
    "user_recommendations": pa.schema(
        [
            ("user_id", pa.int64()),
            ("product_id", pa.int64()),
            ("rank", pa.int32()),
            ("score", pa.float64()),
            ("model", pa.string()),
            ("reason", pa.string()),
        ]
    ),
    "user_history": pa.schema(
        [
            ("user_id", pa.int64()),
            ("product_id", pa.int64()),
            ("history_rank", pa.int32()),
            ("is_bought", pa.bool_()),
            ("last_event_at", pa.timestamp("us")),
        ]
    ),
    "session_item_neighbours": pa.schema(
        [
            ("product_id", pa.int64()),
            ("neighbour_product_id", pa.int64()),
            ("neighbour_rank", pa.int32()),
            ("score", pa.float64()),
            ("source", pa.string()),
        ]
    ),
    "similar_products": pa.schema(
        [
            ("product_id", pa.int64()),
            ("similar_product_id", pa.int64()),
            ("method", pa.string()),
            ("rank", pa.int32()),
            ("score", pa.float64()),
            ("reason", pa.string()),
        ]
    ),
    "item_embeddings": pa.schema(
        [("product_id", pa.int64()), ("item_bias", pa.float64()), ("embedding", _EMBEDDING)]
    ),
    "user_embeddings": pa.schema(
        [("user_id", pa.int64()), ("user_bias", pa.float64()), ("embedding", _EMBEDDING)]
    ),
    "popular_products": pa.schema(
        [
            ("context_type", pa.string()),
            ("context", pa.string()),
            ("product_id", pa.int64()),
            ("rank", pa.int32()),
            ("score", pa.float64()),
            ("reason", pa.string()),
        ]
    ),
    "personalisation_opt_outs": pa.schema([("user_id", pa.int64())]),
    "erasure_requests": pa.schema([("user_id", pa.int64())]),
}


class BundleError(ValueError):
    """A bundle cannot be written or read (missing file, wrong columns, bad manifest)."""


def conform(table: pa.Table, name: str) -> pa.Table:
    schema = SCHEMAS[name]
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise BundleError(f"the input for {name} lacks column(s) {', '.join(missing)}")
    return pa.table(
        [pc.cast(table.column(f.name), f.type) for f in schema], schema=schema
    ).combine_chunks()


def beside_warehouse(variable: str, name: str, warehouse: Path | str | None = None) -> Path:
    """``$<variable>`` when set, else the folder ``name`` beside the warehouse file
    (``$AMAZING_WAREHOUSE``, default ``warehouse/amazing.duckdb``)."""
    override = os.environ.get(variable, "").strip()
    if override:
        return Path(override)
    path = Path(warehouse or os.environ.get("AMAZING_WAREHOUSE") or "warehouse/amazing.duckdb")
    return path.parent / name


def serving_dir(warehouse: Path | str | None = None) -> Path:
    """Where the bundle lives: ``$AMAZING_SERVING_DIR``, else ``serving/`` beside the warehouse
    file (``$AMAZING_WAREHOUSE``, default ``warehouse/amazing.duckdb``)."""
    return beside_warehouse("AMAZING_SERVING_DIR", "serving", warehouse)
