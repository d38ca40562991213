"""BI hand-off: every mart as a Parquet file beside the warehouse, with Power BI queries.

Layout (``exports_dir()``, default ``<warehouse folder>/exports``, ``$AMAZING_EXPORTS_DIR``
overrides)::

    exports/parquet/<table>.parquet   one file per mart of schema ``marts`` (+ a quarantine sample)
    exports/powerbi/<table>.pq        a Power Query (M) query per file
    exports/powerbi/ExportsFolder.pq  the folder parameter the queries read from
    exports/powerbi/amazing.pbids     a Power BI data source file for the Parquet folder

Each Parquet file is written to a temporary name in the same folder and renamed over the old
one (``os.replace``), so a reader sees the previous file or the new one, never half a file.
The build writes them (dbt Python model ``bi_exports``); ``export_marts`` does the same from
a built warehouse, read-only.

Types are made BI-friendly on the way out: HUGEINT (DuckDB's 128-bit sums) becomes BIGINT
and UUID becomes VARCHAR, which Power BI and pandas read natively; every other type is kept.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

#: Default warehouse file, as in profiles.yml.
DEFAULT_WAREHOUSE = Path("warehouse/amazing.duckdb")
PARQUET_FOLDER = "parquet"
POWERBI_FOLDER = "powerbi"
PBIDS_NAME = "amazing.pbids"
FOLDER_PARAMETER = "ExportsFolder"
#: The quarantine is not a mart but the data-quality page shows examples of each reason.
QUARANTINE_SAMPLE = "events_quarantine_sample"
QUARANTINE_EXAMPLES_PER_REASON = 20

#: DuckDB types written as another type, for BI tools (Power BI has no 128-bit integer and
#: reads Parquet's UUID logical type as binary).
_BI_CASTS = {"HUGEINT": "BIGINT", "UHUGEINT": "BIGINT", "UUID": "VARCHAR"}


class ExportError(RuntimeError):
    """An export could not be written or does not match its table."""


@dataclass(frozen=True)
class ExportedTable:
    table_name: str
    row_count: int
    file_path: Path
    query_path: Path


def exports_dir(warehouse: Path | None = None) -> Path:
    """Where the exports go: ``$AMAZING_EXPORTS_DIR``, else ``exports/`` beside the warehouse.

    The warehouse defaults to ``$AMAZING_WAREHOUSE``, else ``warehouse/amazing.duckdb``.
    """
    override = os.environ.get("AMAZING_EXPORTS_DIR", "").strip()
    if override:
        return Path(override)
    if warehouse is None:
        warehouse = Path(os.environ.get("AMAZING_WAREHOUSE", "").strip() or DEFAULT_WAREHOUSE)
    return Path(warehouse).parent / "exports"


def database_path(connection: duckdb.DuckDBPyConnection) -> Path:
    """The file of the connection's current database (what dbt-duckdb's ``session`` writes)."""
    rows = connection.execute(
        "select path from duckdb_databases() where database_name = current_database()"
    ).fetchall()
    row = rows[0] if rows else None
    if row is None or not row[0]:
        raise ExportError(
            "the current DuckDB database is in memory: there is no folder to export beside"
        )
    return Path(row[0])


def bi_relation(relation: duckdb.DuckDBPyRelation) -> duckdb.DuckDBPyRelation:
    """The relation with the BI-unfriendly types cast (HUGEINT -> BIGINT, UUID -> VARCHAR)."""
    expressions = []
    changed = False
    for name, column_type in zip(relation.columns, relation.types, strict=True):
        quoted = '"' + name.replace('"', '""') + '"'
        target = _BI_CASTS.get(str(column_type).upper())
        if target is None:
            expressions.append(quoted)
        else:
            expressions.append(f"cast({quoted} as {target}) as {quoted}")
            changed = True
    return relation.project(", ".join(expressions)) if changed else relation


def write_parquet_atomically(relation: duckdb.DuckDBPyRelation, target: Path) -> int:
    """Write the relation to ``target`` through a temporary file and a rename; its row count.

    The file's row count (from its Parquet footer) must equal the relation's, else nothing is
    replaced and an ExportError says so. An empty relation writes a file with 0 rows and the
    columns, not one all-NULL row.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.stem}.tmp-{uuid.uuid4().hex}.parquet")
    try:
        relation.to_parquet(str(temporary), compression="zstd")
        written = pq.read_metadata(temporary).num_rows
        expected_rows = int(relation.aggregate("count(*)").fetchall()[0][0])
        if written != expected_rows:
            raise ExportError(
                f"{target.name}: wrote {written} rows but the table has {expected_rows}"
            )
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return written


def power_query(table_name: str) -> str:
    """The Power Query (M) query that loads one exported Parquet file."""
    return (
        f"// {table_name}: generated by amazing_analytics.exports; refresh after each build.\n"
        f"// Reads {table_name}.parquet from the folder in parameter {FOLDER_PARAMETER}.\n"
        "let\n"
        f'    Source = Parquet.Document(File.Contents({FOLDER_PARAMETER} & "{table_name}.parquet"))\n'
        "in\n"
        "    Source\n"
    )


def folder_parameter(parquet_folder: Path) -> str:
    """The Power Query parameter holding the Parquet folder (ends with a separator)."""
    folder = str(parquet_folder.resolve())
    separator = "\\" if "\\" in folder else "/"
    if not folder.endswith(separator):
        folder += separator
    return (
        "// The folder holding the exported .parquet files, ending with a separator. Change it\n"
        "// when Power BI sees the folder under another path (a share, a synced copy).\n"
        + json.dumps(folder)
        + ' meta [IsParameterQuery=true, Type="Text", IsParameterQueryRequired=true]\n'
    )


def pbids(parquet_folder: Path) -> dict[str, object]:
    """A Power BI data source file (.pbids): Get data from the export folder in one click."""
    return {
        "version": "0.1",
        "connections": [
            {
                "details": {
                    "protocol": "folder",
                    "address": {"path": str(parquet_folder.resolve())},
                },
                "options": {},
                "mode": "Import",
            }
        ],
    }


def _write_text_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def export_relations(
    relations: Mapping[str, duckdb.DuckDBPyRelation], exports: Path
) -> list[ExportedTable]:
    """Write each relation to ``exports/parquet/<name>.parquet`` with its Power Query file.

    Files of tables that are no longer exported are removed, so the folder holds exactly the
    current marts (an erased shopper cannot survive in the file of a dropped table).
    """
    if not relations:
        raise ExportError("nothing to export: no tables were given")
    parquet_folder = exports / PARQUET_FOLDER
    powerbi_folder = exports / POWERBI_FOLDER
    exported: list[ExportedTable] = []
    for name in sorted(relations):
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ExportError(f"not a table name: {name!r}")
        target = parquet_folder / f"{name}.parquet"
        rows = write_parquet_atomically(bi_relation(relations[name]), target)
        query = powerbi_folder / f"{name}.pq"
        _write_text_atomically(query, power_query(name))
        exported.append(ExportedTable(name, rows, target, query))
    _write_text_atomically(
        powerbi_folder / f"{FOLDER_PARAMETER}.pq", folder_parameter(parquet_folder)
    )
    _write_text_atomically(
        powerbi_folder / PBIDS_NAME, json.dumps(pbids(parquet_folder), indent=2) + "\n"
    )
    kept = set(relations)
    for stale in parquet_folder.glob("*.parquet"):
        if stale.stem not in kept:
            stale.unlink()
    for stale in powerbi_folder.glob("*.pq"):
        if stale.stem not in kept and stale.stem != FOLDER_PARAMETER:
            stale.unlink()
    return exported


def quarantine_sample(
    quarantine: duckdb.DuckDBPyRelation, per_reason: int = QUARANTINE_EXAMPLES_PER_REASON
) -> duckdb.DuckDBPyRelation:
    """Up to ``per_reason`` quarantined lines per reject reason (first by file and line)."""
    if per_reason < 0:
        raise ExportError(f"examples per reason must be >= 0, got {per_reason}")
    numbered = quarantine.project(
        "*, row_number() over (partition by reject_reason "
        "order by source_file, line_number, quarantine_id) as example_number"
    )
    return numbered.filter(f"example_number <= {int(per_reason)}").project(
        "* exclude (example_number)"
    )


def export_log(exported: list[ExportedTable], exported_at: dt.datetime | None = None) -> pa.Table:
    """One row per exported table: name, rows, file, query file, when (the bi_exports model)."""
    when = exported_at or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return pa.table(
        {
            "table_name": pa.array([e.table_name for e in exported], pa.string()),
            "row_count": pa.array([e.row_count for e in exported], pa.int64()),
            "file_path": pa.array([str(e.file_path.resolve()) for e in exported], pa.string()),
            "query_path": pa.array([str(e.query_path.resolve()) for e in exported], pa.string()),
            "exported_at": pa.array([when] * len(exported), pa.timestamp("us")),
        }
    )


def export_marts(warehouse: Path, exports: Path) -> dict[str, int]:
    """Export every table of schema ``marts`` of a built warehouse (opened read-only).

    Returns table -> row count. The same files as the build writes; for a re-export without a
    rebuild (``amazing export``) or after an erasure.
    """
    if not Path(warehouse).exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run `make build` first")
    try:
        connection = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as error:
        raise ExportError(
            f"cannot open {warehouse} read-only (a build may be writing it): {error}"
        ) from error
    with connection:
        names = [
            name
            for (name,) in connection.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' order by table_name"
            ).fetchall()
        ]
        if not names:
            raise ExportError(f"{warehouse} has no table in schema marts: run `make build` first")
        relations = {name: connection.table(f'marts."{name}"') for name in names}
        has_quarantine = connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'staging' and table_name = 'events_quarantine'"
        ).fetchall()[0][0]
        if has_quarantine:
            relations[QUARANTINE_SAMPLE] = quarantine_sample(
                connection.table("staging.events_quarantine")
            )
        exported = export_relations(relations, exports)
    return {table.table_name: table.row_count for table in exported}
