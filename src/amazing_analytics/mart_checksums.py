"""Checksums of every table of a built warehouse, to prove that a refactoring left them alone.

``amazing_analytics.mart_checksums`` is what ``scripts/compare_marts.py`` runs: build the same
demo before and after a change, take :func:`warehouse_checksums` of each warehouse, and
:func:`compare_checksums` says per table whether it is identical.

Each table gets two order-independent checksums: ``exact`` (the sum of the rows' hashes) and
``float32`` (the same with every floating-point value rounded to single precision first). Two
tables with equal ``exact`` checksums hold the same rows; equal ``float32`` checksums with
different ``exact`` ones mean the tables differ only in the last bits of some doubles (a
library that adds the same numbers in another order), which the comparison reports as such.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

#: The schemas a build writes tables to (the export log and the raw files are left out).
DEFAULT_SCHEMAS: tuple[str, ...] = ("staging", "intermediate", "marts", "ml", "reference")

IDENTICAL = "identical"
FLOAT_NOISE = "equal at float32 precision"
DIFFERENT = "DIFFERENT"
MISSING = "MISSING"


@dataclass(frozen=True)
class TableChecksum:
    """One table: its row count and its two checksums (decimal strings of 128-bit sums)."""

    rows: int
    exact: str
    float32: str


def _rounded(column: str, data_type: str) -> str:
    quoted = '"' + column.replace('"', '""') + '"'
    if data_type in ("DOUBLE", "FLOAT"):
        return f"cast({quoted} as float)"
    if data_type in ("DOUBLE[]", "FLOAT[]"):
        return f"cast({quoted} as float[])"
    return quoted


def table_checksum(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> TableChecksum:
    """The checksums of ``schema.table`` (rows in any order give the same checksum)."""
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not columns:
        raise ValueError(f"{schema}.{table} does not exist or has no columns")
    exact = ", ".join('"' + name.replace('"', '""') + '"' for name, _ in columns)
    rounded = ", ".join(_rounded(name, data_type) for name, data_type in columns)
    relation = f'"{schema}"."{table}"'
    rows, exact_sum, rounded_sum = con.execute(
        f"select count(*), coalesce(sum(hash({exact})::hugeint), 0), "
        f"coalesce(sum(hash({rounded})::hugeint), 0) from {relation}"
    ).fetchone()
    return TableChecksum(int(rows), str(exact_sum), str(rounded_sum))


def warehouse_checksums(
    database: Path, schemas: Iterable[str] = DEFAULT_SCHEMAS
) -> dict[str, TableChecksum]:
    """``{"schema.table": checksum}`` of every base table in ``schemas`` (read-only)."""
    if not Path(database).exists():
        raise FileNotFoundError(f"no warehouse at {database}")
    wanted = list(schemas)
    with duckdb.connect(str(database), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in (select unnest(?)) "
            "order by table_schema, table_name",
            [wanted],
        ).fetchall()
        return {f"{s}.{t}": table_checksum(con, s, t) for s, t in tables}


def save(checksums: Mapping[str, TableChecksum], path: Path) -> None:
    """Write checksums as JSON (one key per table, sorted)."""
    data = {name: asdict(value) for name, value in sorted(checksums.items())}
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


def load(path: Path) -> dict[str, TableChecksum]:
    """Read checksums written by :func:`save`."""
    return {
        name: TableChecksum(**value) for name, value in json.loads(Path(path).read_text()).items()
    }


def compare_checksums(
    before: Mapping[str, TableChecksum],
    after: Mapping[str, TableChecksum],
    renames: Mapping[str, str] | None = None,
) -> list[tuple[str, str, str]]:
    """Per table of ``before``: (name before, name after, status), status one of
    :data:`IDENTICAL`, :data:`FLOAT_NOISE`, :data:`DIFFERENT` or :data:`MISSING`; tables only
    in ``after`` come last with status "new". ``renames`` maps a name before to its name after
    (a model moved to another schema or renamed)."""
    renames = dict(renames or {})
    result: list[tuple[str, str, str]] = []
    for name, old in sorted(before.items()):
        new_name = renames.get(name, name)
        new = after.get(new_name)
        if new is None:
            status = MISSING
        elif new == old:
            status = IDENTICAL
        elif new.rows == old.rows and new.float32 == old.float32:
            status = FLOAT_NOISE
        else:
            status = DIFFERENT
        result.append((name, new_name, status))
    matched = {renames.get(name, name) for name in before}
    result += [(name, name, "new") for name in sorted(set(after) - matched)]
    return result
