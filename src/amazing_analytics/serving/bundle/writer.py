"""Writing a bundle atomically.

A build writes ``<parent>/.serving.tmp-<build_id>/``, moves it to
``<parent>/.serving-builds/<build_id>/`` and then points the ``serving`` symlink at it with one
``os.replace`` (a rename, atomic on POSIX). A reader resolving ``serving/`` sees the whole old
bundle or the whole new one, never a mix; a failed build leaves the old bundle untouched. The
previous build is kept so that an API still loading it finishes; older ones are removed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from amazing_analytics.ml.recommend.threads import in_order
from amazing_analytics.serving.bundle.manifest import new_manifest, write_manifest_file
from amazing_analytics.serving.bundle.schema import (
    BUILDS_DIR,
    KEEP_PREVIOUS,
    MANIFEST,
    SCHEMAS,
    TMP_PREFIX,
    BundleError,
    conform,
)


@dataclass(frozen=True)
class WrittenBundle:
    path: Path
    build_id: str
    created_at: datetime
    row_counts: dict[str, int]

    def as_table(self) -> pa.Table:
        """One row per file: what the dbt model ``serving_bundle`` returns."""
        names = sorted(self.row_counts)
        return pa.table(
            {
                "file_name": pa.array([f"{n}.parquet" for n in names], pa.string()),
                "table_name": pa.array(names, pa.string()),
                "row_count": pa.array([self.row_counts[n] for n in names], pa.int64()),
                "build_id": pa.array([self.build_id] * len(names), pa.string()),
                "created_at": pa.array(
                    [self.created_at.replace(tzinfo=None)] * len(names), pa.timestamp("us")
                ),
                "bundle_path": pa.array([str(self.path)] * len(names), pa.string()),
            }
        )


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parquet(table: pa.Table, path: Path) -> str:
    pq.write_table(table, path, compression="zstd")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with path.open("rb") as handle:
        os.fsync(handle.fileno())
    return digest


def write_bundle(
    target: Path,
    tables: Mapping[str, pa.Table],
    models: Mapping[str, Any],
    *,
    created_at: datetime | None = None,
) -> WrittenBundle:
    """Write ``tables`` (every name of SCHEMAS) and the manifest, then swap ``target`` to them.

    ``target`` (e.g. ``warehouse/serving``) becomes a symlink to the new build's directory; a
    real directory there (an older layout) is moved aside first.
    """
    _check_table_names(tables)
    target = Path(target)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    created = (created_at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    stamp = created.strftime("%Y%m%dT%H%M%SZ")
    tmp = parent / f"{TMP_PREFIX}{stamp}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        files = _write_tables(tmp, tables)
        build_id = _build_id(stamp, files, models)
        write_manifest_file(tmp / MANIFEST, new_manifest(build_id, created, models, files))
        _fsync_dir(tmp)
        final = _move_into_builds(tmp, parent / BUILDS_DIR, build_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(target, final)
    _remove_old_builds(final.parent, keep={final.name})
    return WrittenBundle(
        path=target,
        build_id=build_id,
        created_at=created,
        row_counts={name: files[name]["rows"] for name in files},
    )


def _check_table_names(tables: Mapping[str, pa.Table]) -> None:
    unknown = sorted(set(tables) - set(SCHEMAS))
    missing = sorted(set(SCHEMAS) - set(tables))
    if unknown or missing:
        raise BundleError(
            f"a bundle needs exactly the tables {sorted(SCHEMAS)}; "
            f"missing {missing or 'none'}, unknown {unknown or 'none'}"
        )


def _write_tables(folder: Path, tables: Mapping[str, pa.Table]) -> dict[str, dict[str, Any]]:
    """Each table to ``<name>.parquet`` in ``folder``: the manifest's ``files`` entries.

    Two files at a time, the largest first (Arrow's casts, Parquet's writer and the digest
    release Python's lock; each file is written from its own table, so the bytes do not depend
    on the order)."""

    def write(name: str) -> tuple[str, dict[str, Any]]:
        table = conform(tables[name], name)
        digest = _write_parquet(table, folder / f"{name}.parquet")
        return name, {"file": f"{name}.parquet", "rows": table.num_rows, "sha256": digest}

    largest_first = sorted(SCHEMAS, key=lambda name: (-tables[name].nbytes, name))
    return dict(sorted(in_order(write, largest_first)))


def _build_id(stamp: str, files: Mapping[str, Mapping[str, Any]], models: Mapping[str, Any]) -> str:
    """The build's time stamp and a digest of its content (the files' digests and the models)."""
    content = hashlib.sha256()
    for name in sorted(files):
        content.update(f"{name}:{files[name]['sha256']};".encode())
    content.update(json.dumps(models, sort_keys=True, default=str).encode())
    return f"{stamp}-{content.hexdigest()[:10]}"


def _move_into_builds(written: Path, builds: Path, build_id: str) -> Path:
    builds.mkdir(exist_ok=True)
    final = builds / build_id
    if final.exists():  # the very same content rebuilt in the same second
        shutil.rmtree(final)
    os.rename(written, final)
    return final


def _swap(target: Path, build: Path) -> None:
    if target.exists() and not target.is_symlink():
        if not target.is_dir():
            raise BundleError(f"{target} exists and is not a directory: remove it")
        # an older layout (a plain directory): keep it as a build, then link
        os.rename(target, build.parent / f"replaced-{build.name}")
    link = target.parent / f".serving.link-{build.name}-{os.getpid()}"
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(os.path.relpath(build, target.parent), link)
    os.replace(link, target)
    _fsync_dir(target.parent)


def _remove_old_builds(builds: Path, keep: set[str]) -> None:
    others = sorted(
        (p for p in builds.iterdir() if p.is_dir() and p.name not in keep),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in others[KEEP_PREVIOUS:]:
        shutil.rmtree(old, ignore_errors=True)
