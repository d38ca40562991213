"""Finding and purging one person's rows, generically: in every warehouse table with a user
column, in every Parquet or CSV file under the exports and the serving bundle, and as a token in
the text of the docs artifacts. Which columns identify the person comes from the dbt meta where
there is one (meta.user_id_column, personal_rows_filter, raw_line), else from the column names."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from amazing_analytics.gdpr.errors import GdprError
from amazing_analytics.gdpr.metadata import RAW_LINE_COLUMN, USER_ID_COLUMN, PersonalTable

TABULAR_SUFFIXES = (".parquet", ".csv")
TEXT_SUFFIXES = (".json", ".html", ".md", ".txt", ".m", ".pbids", ".yml", ".yaml")


@dataclass(frozen=True)
class Trace:
    """Rows (or text) about the person found in one place."""

    place: str  # warehouse, exports, serving, docs, lists
    location: str  # schema.table or file path
    rows: int


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def trace_condition(
    columns: Mapping[str, str],
    user_id: int,
    table: PersonalTable | None = None,
) -> str | None:
    """A SQL predicate true on the rows about the user, or None when no column can hold them."""
    names = {name.lower(): name for name in columns}
    text = f"'{int(user_id)}'"
    clauses: list[str] = []
    declared_user = table.user_id_column if table is not None else None
    user_columns = [
        names[name] for name in names if USER_ID_COLUMN.match(name) or name == declared_user
    ]
    for column in user_columns:
        clause = f"cast({_quote(column)} as varchar) = {text}"
        if table is not None and table.row_filter and column.lower() == declared_user:
            clause = f"(({table.row_filter}) and {clause})"
        clauses.append(clause)
    # a user-or-product table (entity, entity_id), e.g. the embeddings of the bundle
    if declared_user is None and "entity_id" in names and "entity" in names:
        clauses.append(
            f"({_quote(names['entity'])} = 'user' and cast({_quote(names['entity_id'])} as varchar) = {text})"
        )
    if RAW_LINE_COLUMN in names:
        clauses.append(
            f"coalesce(list_contains(string_split({_quote(names[RAW_LINE_COLUMN])}, ','), {text}), false)"
        )
    if not clauses:
        return None
    return "(" + " or ".join(clauses) + ")"


def warehouse_tables(connection: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """{schema.table: {column: type}} for every table and view of the warehouse."""
    rows = connection.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        "where table_catalog = current_database() and table_schema not in ('information_schema', 'pg_catalog') "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for schema, table, column, data_type in rows:
        tables.setdefault(f"{schema}.{table}", {})[column] = data_type
    return tables


def _relation_sql(label: str) -> str:
    schema, table = label.split(".", 1)
    return f"{_quote(schema)}.{_quote(table)}"


def find_in_warehouse(
    connection: duckdb.DuckDBPyConnection,
    user_id: int,
    declared: Iterable[PersonalTable],
    *,
    exclude: Iterable[str] = (),
) -> list[Trace]:
    """Rows about the user in every warehouse relation that can hold them, declared or not."""
    by_label = {table.label.lower(): table for table in declared}
    skipped = {label.lower() for label in exclude}
    traces: list[Trace] = []
    for label, columns in warehouse_tables(connection).items():
        if label.lower() in skipped:
            continue
        condition = trace_condition(columns, user_id, by_label.get(label.lower()))
        if condition is None:
            continue
        count = connection.execute(
            f"select count(*) from {_relation_sql(label)} where {condition}"
        ).fetchone()[0]
        if count:
            traces.append(Trace("warehouse", label, int(count)))
    return traces


def _file_relation(path: Path) -> str:
    literal = "'" + str(path).replace("'", "''") + "'"
    if path.suffix == ".parquet":
        return f"read_parquet({literal})"
    return f"read_csv({literal}, all_varchar = true, header = true)"


def _file_columns(connection: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str]:
    described = connection.execute(f"describe select * from {_file_relation(path)}").fetchall()
    return {row[0]: row[1] for row in described}


def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if not root.exists():
        return []
    return sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.suffix.lower() in suffixes and not path.name.startswith(".")
    )


def _token_pattern(user_id: int) -> re.Pattern[bytes]:
    return re.compile(rb"(?<![0-9])" + str(int(user_id)).encode() + rb"(?![0-9])")


def find_in_text(path: Path, user_id: int) -> int:
    """How often the id appears as a whole number in a text file."""
    try:
        return len(_token_pattern(user_id).findall(path.read_bytes()))
    except OSError as error:
        raise GdprError(f"cannot read {path}: {error}") from error


def find_in_files(root: Path, user_id: int, place: str) -> list[Trace]:
    """Rows about the user in every Parquet/CSV file under root, and the id in its text files."""
    traces: list[Trace] = []
    with duckdb.connect() as connection:
        for path in _files(root, TABULAR_SUFFIXES):
            try:
                condition = trace_condition(_file_columns(connection, path), user_id)
                if condition is None:
                    continue
                count = connection.execute(
                    f"select count(*) from {_file_relation(path)} where {condition}"
                ).fetchone()[0]
            except duckdb.Error as error:
                raise GdprError(f"cannot read {path}: {error}") from error
            if count:
                traces.append(Trace(place, str(path), int(count)))
    for path in _files(root, TEXT_SUFFIXES):
        found = find_in_text(path, user_id)
        if found:
            traces.append(Trace(place, str(path), found))
    return traces


def purge_files(root: Path, user_id: int, keep_names: Collection[str] = ()) -> dict[str, int]:
    """Rewrite every Parquet/CSV file under root without the user's rows, each atomically
    (a temporary file beside it, then os.replace), so readers see the old file or the new one.
    Files named in ``keep_names`` (an erasure list) are left as they are.
    Returns {file: rows removed} for the files that changed."""
    removed: dict[str, int] = {}
    with duckdb.connect() as connection:
        for path in _files(root, TABULAR_SUFFIXES):
            if path.name in keep_names:
                continue
            try:
                condition = trace_condition(_file_columns(connection, path), user_id)
                if condition is None:
                    continue
                relation = _file_relation(path)
                count = connection.execute(
                    f"select count(*) from {relation} where {condition}"
                ).fetchone()[0]
                if not count:
                    continue
                handle, temporary = tempfile.mkstemp(
                    dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix
                )
                os.close(handle)
                fmt = "parquet" if path.suffix == ".parquet" else "csv, header true"
                target = "'" + temporary.replace("'", "''") + "'"
                try:
                    connection.execute(
                        f"copy (select * from {relation} where not coalesce({condition}, false)) "
                        f"to {target} (format {fmt})"
                    )
                    os.replace(temporary, path)
                except BaseException:
                    Path(temporary).unlink(missing_ok=True)
                    raise
            except duckdb.Error as error:
                raise GdprError(f"cannot purge {path}: {error}") from error
            removed[str(path)] = int(count)
    return removed
