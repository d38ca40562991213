"""The recommendation API's impression and feedback logs (JSON lines, serving/feedback.py) under
the GDPR rights: a person's impressions name them (``user_id``), and the feedback lines are
theirs through the impression's ``request_id``.

Erasure rewrites every log file that holds the person without their lines, each atomically (a
temporary file beside it, then ``os.replace``) and under the file's lock, the one a running
server takes for every batch it appends (``serving.feedback.append_locked``, which then checks
that it holds the file that has the name now): no line of anyone else is lost. Lines that cannot be parsed are kept as they are (and reported),
never dropped silently: they may be someone else's data.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from amazing_analytics.gdpr.errors import GdprError
from amazing_analytics.serving.feedback import FEEDBACK, IMPRESSIONS


@dataclass
class UserLogRows:
    impressions: list[dict] = field(default_factory=list)
    feedback: list[dict] = field(default_factory=list)
    #: file -> lines about the user
    files: dict[str, int] = field(default_factory=dict)


def _log_files(directory: Path | None, kind: str) -> list[Path]:
    if directory is None or not (directory / kind).is_dir():
        return []
    return sorted(p for p in (directory / kind).glob("*.jsonl") if p.is_file())


def _read_lines(path: Path) -> list[tuple[bytes, dict | None]]:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise GdprError(f"cannot read {path}: {error}") from error
    out: list[tuple[bytes, dict | None]] = []
    for line in raw.splitlines(keepends=True):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        out.append((line if line.endswith(b"\n") else line + b"\n", record))
    return out


def _is_user(record: dict | None, user_id: int) -> bool:
    return isinstance(record, dict) and record.get("user_id") == user_id


def find_user_rows(directory: Path | None, user_id: int) -> UserLogRows:
    """The user's impressions and the feedback sent on them."""
    found = UserLogRows()
    request_ids: set[str] = set()
    for path in _log_files(directory, IMPRESSIONS):
        rows = [record for _, record in _read_lines(path) if _is_user(record, user_id)]
        if rows:
            found.impressions += rows  # type: ignore[arg-type]
            found.files[str(path)] = len(rows)
            request_ids |= {str(row.get("request_id")) for row in rows}  # type: ignore[union-attr]
    if request_ids:
        for path in _log_files(directory, FEEDBACK):
            rows = [
                record
                for _, record in _read_lines(path)
                if isinstance(record, dict) and record.get("request_id") in request_ids
            ]
            if rows:
                found.feedback += rows
                found.files[str(path)] = len(rows)
    return found


def _rewrite(path: Path, keep: list[bytes]) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(b"".join(keep))
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _purge_file(path: Path, drop) -> tuple[int, list[dict]]:
    """Rewrite one file without the lines ``drop(record)`` selects, under the writers' lock.
    Returns (lines removed, the records removed)."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0, []
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        lines = _read_lines(path)
        dropped = [record for _, record in lines if drop(record)]
        if dropped:
            _rewrite(path, [line for line, record in lines if not drop(record)])
        return len(dropped), dropped  # type: ignore[return-value]
    except OSError as error:
        raise GdprError(f"cannot purge {path}: {error}") from error
    finally:
        os.close(handle)


def purge_user(directory: Path | None, user_id: int) -> dict[str, int]:
    """Rewrite the log files without the user's impressions and the feedback on them.
    Returns {file: lines removed} for the files that changed."""
    removed: dict[str, int] = {}
    request_ids: set[str] = set()
    for path in _log_files(directory, IMPRESSIONS):
        count, records = _purge_file(path, lambda record: _is_user(record, user_id))
        if count:
            removed[str(path)] = count
            request_ids |= {str(record.get("request_id")) for record in records}
    if request_ids:
        for path in _log_files(directory, FEEDBACK):
            count, _ = _purge_file(
                path,
                lambda record: isinstance(record, dict) and record.get("request_id") in request_ids,
            )
            if count:
                removed[str(path)] = count
    return removed


def write_access_export(rows: UserLogRows, out_dir: Path) -> list[str]:
    """The user's log rows as JSON files in the access export; returns the file names."""
    written = []
    for name, records in (
        ("api_recommendation_impressions.json", rows.impressions),
        ("api_recommendation_feedback.json", rows.feedback),
    ):
        if records:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / name).write_text(json.dumps(records, indent=2) + "\n")
            written.append(name)
    return written
