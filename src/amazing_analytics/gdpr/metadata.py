"""The personal-data metadata of the dbt project, read from target/manifest.json, and the paths
beside the warehouse (live lists, exports, serving bundle)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from amazing_analytics.gdpr.errors import GdprError, WarehouseBusyError

DEFAULT_WAREHOUSE = Path("warehouse/amazing.duckdb")
#: Columns that hold a user id outside the metadata (Parquet files, undeclared tables).
USER_ID_COLUMN = re.compile(r"^(user_id|[a-z0-9_]*_user_id)$")
#: Columns that hold a raw event line, in which the id is one comma-separated field.
RAW_LINE_COLUMN = "raw_line"


@dataclass(frozen=True)
class PersonalTable:
    """A model, seed or snapshot whose meta declares personal data."""

    name: str
    unique_id: str
    resource_type: str
    schema: str
    identifier: str
    personal_data_columns: tuple[str, ...]
    user_id_column: str | None
    raw_line_column: str | None
    row_filter: str | None
    purposes: tuple[str, ...]
    lawful_basis: str
    retention: str
    recipients: tuple[str, ...]
    category: str
    is_erasure_list: bool

    @property
    def relation(self) -> str:
        return f'"{self.schema}"."{self.identifier}"'

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.identifier}"


def _as_tuple(value: object) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value)  # type: ignore[union-attr]


def load_manifest(manifest: Path) -> dict:
    if not manifest.exists():
        raise GdprError(
            f"no dbt manifest at {manifest}: run `dbt parse` (or `make build`) in the project first"
        )
    try:
        return json.loads(manifest.read_text())
    except (OSError, json.JSONDecodeError) as error:
        raise GdprError(f"cannot read the dbt manifest {manifest}: {error}") from error


def personal_tables(manifest: dict) -> list[PersonalTable]:
    """Every node of the manifest whose meta says contains_personal_data, in name order."""
    tables: list[PersonalTable] = []
    for unique_id, node in sorted(manifest.get("nodes", {}).items()):
        if node.get("resource_type") not in {"model", "seed", "snapshot"}:
            continue
        meta = node.get("config", {}).get("meta") or node.get("meta") or {}
        if meta.get("contains_personal_data") is not True:
            continue
        columns = tuple(column.lower() for column in _as_tuple(meta.get("personal_data_columns")))
        user_column = str(meta.get("user_id_column", "user_id")).lower()
        tables.append(
            PersonalTable(
                name=node["name"],
                unique_id=unique_id,
                resource_type=node["resource_type"],
                schema=node["schema"],
                identifier=node.get("alias") or node["name"],
                personal_data_columns=columns,
                user_id_column=user_column if user_column in columns else None,
                raw_line_column=RAW_LINE_COLUMN if RAW_LINE_COLUMN in columns else None,
                row_filter=meta.get("personal_rows_filter"),
                purposes=_as_tuple(meta.get("purpose")),
                lawful_basis=str(meta.get("lawful_basis", "")),
                retention=str(meta.get("retention", "")),
                recipients=_as_tuple(meta.get("recipients")),
                category=str(meta.get("personal_data_category", "")),
                is_erasure_list=bool(meta.get("erasure_list", False)),
            )
        )
    return tables


@dataclass(frozen=True)
class Locations:
    """Where everything about a build lives: the project, its warehouse and the files beside it."""

    project: Path
    warehouse: Path
    manifest: Path
    live_dir: Path
    exports_dir: Path
    serving_dir: Path
    #: the API's impression and feedback logs (serving/feedback.py)
    feedback_dir: Path | None = None

    @property
    def seeds_dir(self) -> Path:
        return self.project / "seeds"

    @property
    def docs_artifacts(self) -> tuple[Path, ...]:
        target = self.project / "target"
        return tuple(
            target / name
            for name in ("manifest.json", "catalog.json", "run_results.json", "index.html")
        )

    @classmethod
    def resolve(
        cls,
        project: Path | None = None,
        warehouse: Path | None = None,
        manifest: Path | None = None,
    ) -> Locations:
        project = (project or Path.cwd()).resolve()
        if warehouse is None:
            warehouse = Path(os.environ.get("AMAZING_WAREHOUSE", str(DEFAULT_WAREHOUSE)))
        if not warehouse.is_absolute():
            warehouse = project / warehouse
        beside = warehouse.parent

        def env_dir(variable: str, default: str) -> Path:
            value = os.environ.get(variable)
            return Path(value) if value else beside / default

        return cls(
            project=project,
            warehouse=warehouse,
            manifest=manifest or project / "target" / "manifest.json",
            live_dir=env_dir("AMAZING_GDPR_LIVE_DIR", "gdpr_live"),
            exports_dir=env_dir("AMAZING_EXPORTS_DIR", "exports"),
            serving_dir=env_dir("AMAZING_SERVING_DIR", "serving"),
            feedback_dir=env_dir("AMAZING_FEEDBACK_DIR", "feedback"),
        )


def is_lock_error(error: BaseException) -> bool:
    text = str(error).lower()
    return "lock" in text and ("conflicting" in text or "could not set lock" in text)


@contextmanager
def open_warehouse(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The warehouse, read-only. A build holding it gives WarehouseBusyError, not a traceback."""
    if not path.exists():
        raise GdprError(f"no warehouse at {path}: build it first (`make build`)")
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        if is_lock_error(error):
            raise WarehouseBusyError(
                f"the warehouse {path} is in use by another process (a dbt build is running): "
                "try again when it has finished"
            ) from error
        raise GdprError(f"cannot open the warehouse {path}: {error}") from error
    try:
        yield connection
    finally:
        connection.close()
