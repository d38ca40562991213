"""Data access for the dashboard: the Parquet exports beside the warehouse, cached.

The dashboard never opens the DuckDB file (a build holds its only write lock); it reads
``exports/parquet/<table>.parquet`` (``$AMAZING_EXPORTS_DIR``, default ``exports/`` beside
``$AMAZING_WAREHOUSE``), which the build replaces atomically. Reads are cached with
``st.cache_data`` keyed on each file's modification time and size, so a new build is picked up
on the next rerun and an unchanged file is read once.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from amazing_analytics.exports import exports_dir as bi_exports_dir

DEFAULT_WAREHOUSE = Path("warehouse/amazing.duckdb")


def warehouse_dir() -> Path:
    """The folder of ``$AMAZING_WAREHOUSE`` (default ``warehouse/``)."""
    return Path(os.environ.get("AMAZING_WAREHOUSE") or DEFAULT_WAREHOUSE).parent


def exports_dir() -> Path:
    """``$AMAZING_EXPORTS_DIR``, else ``exports/`` beside the warehouse file (the BI exports')."""
    return bi_exports_dir()


def parquet_path(table: str) -> Path:
    """Where the export of mart ``table`` is (``exports/parquet/<table>.parquet``)."""
    return exports_dir() / "parquet" / f"{table}.parquet"


def gdpr_live_dir() -> Path:
    """``$AMAZING_GDPR_LIVE_DIR``, else ``gdpr_live/`` beside the warehouse file."""
    configured = os.environ.get("AMAZING_GDPR_LIVE_DIR")
    return Path(configured) if configured else warehouse_dir() / "gdpr_live"


@st.cache_data(show_spinner=False, max_entries=64)
def _read_parquet(path: str, modified_ns: int, size: int) -> pd.DataFrame:
    """One read per (file, version): the mtime and size are part of the cache key."""
    del modified_ns, size
    return pd.read_parquet(path)


def has_table(table: str) -> bool:
    """The export of ``table`` exists."""
    return parquet_path(table).is_file()


def load(table: str) -> pd.DataFrame | None:
    """The exported mart as a DataFrame, or None when it has not been exported."""
    path = parquet_path(table)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return _read_parquet(str(path), stat.st_mtime_ns, stat.st_size)


@st.cache_data(show_spinner=False, max_entries=8)
def _read_user_ids(path: str, modified_ns: int, size: int) -> frozenset[int]:
    del modified_ns, size
    ids: set[int] = set()
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            value = (row.get("user_id") or "").strip()
            if value.lstrip("-").isdigit():
                ids.add(int(value))
    return frozenset(ids)


def live_gdpr_user_ids() -> frozenset[int]:
    """Users in the live opt-out or erasure lists (written by ``amazing gdpr``), if any.

    The build's seeds already keep them out of the marts; these lists catch the requests made
    since the last build.
    """
    ids: frozenset[int] = frozenset()
    for name in ("personalisation_opt_outs.csv", "erasure_requests.csv"):
        path = gdpr_live_dir() / name
        if path.is_file():
            stat = path.stat()
            ids |= _read_user_ids(str(path), stat.st_mtime_ns, stat.st_size)
    return ids


def export_built_at() -> pd.Timestamp | None:
    """When the newest export was written (the build's age, for the sidebar)."""
    folder = exports_dir() / "parquet"
    if not folder.is_dir():
        return None
    times = [p.stat().st_mtime for p in folder.glob("*.parquet")]
    return pd.Timestamp(max(times), unit="s", tz="UTC") if times else None
