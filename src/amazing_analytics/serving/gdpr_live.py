"""The live GDPR lists (CONTRACTS.md): opt-outs and erasures that take effect before a rebuild.

``$AMAZING_GDPR_LIVE_DIR`` (default ``gdpr_live/`` beside the warehouse file) holds
``personalisation_opt_outs.csv`` (``user_id,opted_out_at``) and ``erasure_requests.csv``
(``user_id,requested_at``), written by ``amazing gdpr`` commands. The API checks their mtime on
every request that names a shopper (two ``stat`` calls) and re-reads a file that changed, so an
opt-out or an erasure is honoured by the next request.
"""

from __future__ import annotations

import csv
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

OPT_OUTS_FILE = "personalisation_opt_outs.csv"
ERASURES_FILE = "erasure_requests.csv"

log = logging.getLogger("amazing.serving")


def gdpr_live_dir(warehouse: Path | str | None = None) -> Path:
    """``$AMAZING_GDPR_LIVE_DIR``, else ``gdpr_live/`` beside the warehouse file."""
    from amazing_analytics.serving.bundle import beside_warehouse

    return beside_warehouse("AMAZING_GDPR_LIVE_DIR", "gdpr_live", warehouse)


def read_user_ids(path: Path) -> frozenset[int]:
    """The user ids of a live list (header ``user_id,...``); lines without an integer id are
    skipped and counted in the log (never with their content: it may be personal)."""
    ids: set[int] = set()
    skipped = 0
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            value = (row.get("user_id") or "").strip()
            try:
                ids.add(int(value))
            except ValueError:
                skipped += 1
    if skipped:
        log.warning("%s: %d line(s) without an integer user_id skipped", path.name, skipped)
    return frozenset(ids)


@dataclass(frozen=True)
class _Snapshot:
    signature: tuple[int, int] | None
    ids: frozenset[int]


class _LiveFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._snapshot = _Snapshot(None, frozenset())
        self._lock = threading.Lock()

    def ids(self) -> frozenset[int]:
        try:
            stat = os.stat(self.path)
            signature: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            signature = None
        snapshot = self._snapshot
        if signature == snapshot.signature:
            return snapshot.ids
        with self._lock:
            if signature is None:
                ids: frozenset[int] = frozenset()
            else:
                try:
                    ids = read_user_ids(self.path)
                except OSError as error:  # replaced while reading: keep the last list
                    log.warning("could not read %s (%s): keeping the last list", self.path, error)
                    return snapshot.ids
            self._snapshot = _Snapshot(signature, ids)
            return ids


@dataclass(frozen=True)
class GdprSnapshot:
    """The two live lists as one request sees them (read once: two ``stat`` calls)."""

    opted_out_ids: frozenset[int]
    erased_ids: frozenset[int]

    def opted_out(self) -> frozenset[int]:
        return self.opted_out_ids

    def erased(self) -> frozenset[int]:
        return self.erased_ids


class LiveGdprLists:
    """Opt-outs and erasures of the live lists, re-read when their file changes."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._opt_outs = _LiveFile(self.directory / OPT_OUTS_FILE)
        self._erasures = _LiveFile(self.directory / ERASURES_FILE)

    def opted_out(self) -> frozenset[int]:
        return self._opt_outs.ids()

    def erased(self) -> frozenset[int]:
        return self._erasures.ids()

    def snapshot(self) -> GdprSnapshot:
        return GdprSnapshot(self._opt_outs.ids(), self._erasures.ids())
