"""The bundle's manifest: the models served with their evaluations' headline figures, reading it
back, and bringing it in line with files rewritten in place (a GDPR erasure)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amazing_analytics.ml.arrow_utils import ArrowData, as_table
from amazing_analytics.ml.recommend.session import selected_session_model
from amazing_analytics.serving.bundle.schema import FORMAT_VERSION, MANIFEST, BundleError

#: The figures of a model's evaluation that go into the manifest (slice 'all').
HEADLINE_METRICS = ("hit_rate", "ndcg", "mrr", "precision", "recall", "map")


def _selected_rows(evaluation: ArrowData | None) -> list[dict[str, Any]]:
    if evaluation is None:
        return []
    table = as_table(evaluation)
    if "is_selected" not in table.column_names or not table.num_rows:
        return []
    rows = table.filter(pc.fill_null(table.column("is_selected"), False)).to_pylist()
    return [row for row in rows if row.get("slice_type", "all") == "all"]


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _model_summary(evaluation: ArrowData | None, kind: str) -> dict[str, Any]:
    """The selected model of an evaluation mart with its headline figures (slice 'all')."""
    rows = _selected_rows(evaluation)
    if not rows:
        table = as_table(evaluation) if evaluation is not None else None
        message = None
        if table is not None and table.num_rows and "message" in table.column_names:
            messages = [m for m in table.column("message").to_pylist() if m]
            message = messages[0] if messages else None
        return {
            "name": "popularity",
            "evaluated": False,
            "message": message or f"no {kind} evaluation selected a model: popularity serves",
            "params": {},
            "evaluation": [],
        }
    name = str(rows[0]["model"])
    params: dict[str, float] = {}
    figures = []
    for row in rows:
        metric = str(row.get("metric"))
        if metric.startswith("param_"):
            params[metric.removeprefix("param_")] = float(row["value"])
            continue
        if row.get("params"):
            params.update({str(k): float(v) for k, v in json.loads(row["params"]).items()})
        figure = {
            key: _clean(row.get(key))
            for key in ("metric", "k", "value", "ci_low", "ci_high", "session_count", "user_count")
            if key in row
        }
        figures.append(figure)
    statuses = {row.get("status") for row in rows if row.get("status")}
    return {
        "name": name,
        "evaluated": statuses <= {"ok"},
        "message": next((row["message"] for row in rows if row.get("message")), None),
        "params": params,
        "evaluation": sorted(figures, key=lambda f: (str(f.get("metric")), f.get("k") or 0)),
    }


def manifest_models(
    recommender_evaluation: ArrowData | None,
    session_recommender_evaluation: ArrowData | None,
) -> dict[str, Any]:
    """The models served, each with its evaluation's headline figures."""
    session = _model_summary(session_recommender_evaluation, "session recommender")
    if session_recommender_evaluation is not None:
        # the session module's own reading of the selection (name and params as evaluated)
        name, params = selected_session_model(as_table(session_recommender_evaluation))
        session = {**session, "name": name, "params": params}
    return {
        "session": session,
        "user": _model_summary(recommender_evaluation, "batch recommender"),
    }


def new_manifest(
    build_id: str,
    created: datetime,
    models: Mapping[str, Any],
    files: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The manifest of a new build: its id and time, the models served and its files."""
    return {
        "format_version": FORMAT_VERSION,
        "build_id": build_id,
        "created_at": created.isoformat().replace("+00:00", "Z"),
        "models": models,
        "row_counts": {name: files[name]["rows"] for name in sorted(files)},
        "files": files,
    }


def write_manifest_file(path: Path, manifest: Mapping[str, Any]) -> None:
    """``manifest`` as JSON at ``path``, flushed to the disk."""
    with path.open("w") as handle:
        json.dump(manifest, handle, indent=2, sort_keys=True, default=str)
        handle.flush()
        os.fsync(handle.fileno())


def read_manifest(bundle: Path) -> dict[str, Any]:
    """The manifest of the bundle at ``bundle`` (a clear error when there is none)."""
    path = Path(bundle) / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise BundleError(
            f"no serving bundle at {bundle} (no {MANIFEST}): run `make build` (or `dbt build`)"
        ) from error
    except json.JSONDecodeError as error:
        raise BundleError(f"{path} is not valid JSON: {error}") from error
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{path} has format_version {manifest.get('format_version')!r}, "
            f"this API reads {FORMAT_VERSION}"
        )
    return manifest


def refresh_manifest(build: Path, changed: Iterable[Path]) -> list[str]:
    """After files of a written bundle were rewritten in place (a GDPR erasure removes a user's
    rows), bring its manifest's row counts and sha256 digests back in line with the files,
    atomically (a temporary file, then os.replace), and note when. The build id stays: it names
    the build, and the API treats the erased id as unknown through its live list. Returns the
    names of the tables whose entry changed; a folder without a manifest is left alone."""
    manifest_path = Path(build) / MANIFEST
    if not manifest_path.is_file():
        return []
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError:
        return []
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        return []  # not a manifest this writer wrote: nothing to bring in line
    by_file = {entry.get("file"): name for name, entry in files.items() if isinstance(entry, dict)}
    updated: list[str] = []
    for path in sorted({Path(p) for p in changed}):
        name = by_file.get(path.name)
        if path.parent.resolve() != manifest_path.parent.resolve() or name is None:
            continue
        files[name]["rows"] = pq.ParquetFile(path).metadata.num_rows
        files[name]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        manifest.setdefault("row_counts", {})[name] = files[name]["rows"]
        updated.append(name)
    if updated:
        manifest["amended_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
        temporary = manifest_path.with_name(f".{MANIFEST}.{os.getpid()}")
        write_manifest_file(temporary, manifest)
        os.replace(temporary, manifest_path)
    return updated
