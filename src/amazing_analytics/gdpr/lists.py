"""The erasure and objection lists: the seeds the next build applies, and the live lists the
recommendation API reloads at once (CONTRACTS: W/gdpr_live/*.csv). Every write takes a file lock
and replaces the file atomically, so the API never reads half a file and two commands run at the
same time cannot lose each other's line."""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import io
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from amazing_analytics.gdpr.errors import GdprError


@dataclass(frozen=True)
class ListFile:
    """A CSV list keyed by user_id, with its header."""

    path: Path
    header: tuple[str, ...]


def erasure_seed(seeds_dir: Path) -> ListFile:
    return ListFile(
        seeds_dir / "gdpr_erasure_requests.csv", ("user_id", "requested_at", "request_reference")
    )


def opt_out_seed(seeds_dir: Path) -> ListFile:
    return ListFile(seeds_dir / "gdpr_personalisation_opt_outs.csv", ("user_id", "opted_out_at"))


def erasure_live(live_dir: Path) -> ListFile:
    return ListFile(live_dir / "erasure_requests.csv", ("user_id", "requested_at"))


def opt_out_live(live_dir: Path) -> ListFile:
    return ListFile(live_dir / "personalisation_opt_outs.csv", ("user_id", "opted_out_at"))


def now_text() -> str:
    """The current UTC time as the seeds store it (a timestamp without zone)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_rows(list_file: ListFile) -> list[dict[str, str]]:
    if not list_file.path.exists():
        return []
    try:
        with open(list_file.path, newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is not None and tuple(reader.fieldnames) != list_file.header:
                raise GdprError(
                    f"{list_file.path} has the header {','.join(reader.fieldnames)}; "
                    f"expected {','.join(list_file.header)}"
                )
            return [row for row in reader if (row.get("user_id") or "").strip()]
    except OSError as error:
        raise GdprError(f"cannot read {list_file.path}: {error}") from error


def contains(list_file: ListFile, user_id: int) -> bool:
    return any(row["user_id"].strip() == str(user_id) for row in read_rows(list_file))


def _write_rows(list_file: ListFile, rows: list[dict[str, str]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(list_file.header), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    directory = list_file.path.parent
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{list_file.path.name}.")
    try:
        with os.fdopen(handle, "w", newline="") as out:
            out.write(buffer.getvalue())
        os.replace(temporary, list_file.path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def add(list_file: ListFile, user_id: int, values: dict[str, str]) -> bool:
    """Append the user's row unless present. True when the list changed."""
    with _locked(list_file.path):
        rows = read_rows(list_file)
        if any(row["user_id"].strip() == str(user_id) for row in rows):
            return False
        rows.append({"user_id": str(user_id), **values})
        _write_rows(list_file, rows)
        return True


def remove(list_file: ListFile, user_id: int) -> bool:
    """Drop the user's rows. True when the list changed."""
    with _locked(list_file.path):
        rows = read_rows(list_file)
        kept = [row for row in rows if row["user_id"].strip() != str(user_id)]
        if len(kept) == len(rows):
            return False
        _write_rows(list_file, kept)
        return True


def ensure_exists(list_file: ListFile) -> None:
    """Create an empty list (header only) so that readers find the file."""
    with _locked(list_file.path):
        if not list_file.path.exists():
            _write_rows(list_file, [])
