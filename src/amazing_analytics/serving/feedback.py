"""The feedback loop's log (CONTRACTS.md): every answer as an impression, every
``POST /v1/feedback`` as a feedback line, in append-only JSON-lines files the build reads.

``$AMAZING_FEEDBACK_DIR`` (default ``feedback/`` beside the warehouse file) holds
``impressions/<day>_<process>.jsonl`` and ``feedback/<day>_<process>.jsonl``: one file per server
process and UTC day, so several workers never write to the same file. Lines are buffered in
memory and written by a background task (``FEEDBACK_FLUSH_SECONDS``) in a worker thread, off the
request path; the buffer is written once more when the server shuts down.

Request ids are signed, so any worker can tell an id it (or a sibling) issued from a made-up one
without shared state: ``<issued at, ms, base 36>.<process token>.<counter>.<signature>``, the
signature a keyed BLAKE2b MAC (16 hex digits) of the first three parts under a key shared by the
workers (``$AMAZING_FEEDBACK_KEY``, else ``.request_id_key`` in the feedback directory, created on
first use). Feedback on an id that is not signed by the key, or older than
``$AMAZING_FEEDBACK_MAX_AGE_DAYS`` (default 30), is refused with a 404.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import itertools
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic_core import to_json

IMPRESSIONS = "impressions"
FEEDBACK = "feedback"
KEY_FILE = ".request_id_key"
FEEDBACK_FLUSH_SECONDS = 0.5
DEFAULT_MAX_AGE_DAYS = 30
#: feedback dated this far ahead of the server's clock is still accepted (clock skew)
FUTURE_SKEW = timedelta(minutes=5)
SIGNATURE_DIGITS = 16
#: lines kept in memory while the log cannot be written (then the oldest are dropped, logged)
MAX_PENDING_LINES = 1_000_000

log = logging.getLogger("amazing.serving")

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def feedback_dir(warehouse: Path | str | None = None) -> Path:
    """``$AMAZING_FEEDBACK_DIR``, else ``feedback/`` beside the warehouse file."""
    from amazing_analytics.serving.bundle import beside_warehouse

    return beside_warehouse("AMAZING_FEEDBACK_DIR", "feedback", warehouse)


def append_locked(path: Path, data: bytes) -> None:
    """Append to a log file under an exclusive lock, into the file that has the name *now*:
    an erasure (gdpr/feedback_logs.py) rewrites a file under the same lock and swaps it in, and
    a writer that opened the old one before the swap would write into a deleted file."""
    while True:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is not None and current.st_ino == os.fstat(handle).st_ino:
                view = memoryview(data)
                while view:
                    view = view[os.write(handle, view) :]
                return
        finally:
            os.close(handle)  # also releases the lock


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, rest = divmod(number, 36)
        text = digits[rest] + text
        if not number:
            return text


def load_key(directory: Path) -> bytes:
    """The signing key: ``$AMAZING_FEEDBACK_KEY``, else the key file of the feedback directory
    (created once, readable by its owner only; a worker starting at the same time reads the
    file the first one wrote)."""
    configured = os.environ.get("AMAZING_FEEDBACK_KEY", "").strip()
    if configured:
        return configured.encode()
    path = directory / KEY_FILE
    directory.mkdir(parents=True, exist_ok=True)
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # the creating worker may not have written it yet
            key = path.read_bytes().strip()
            if key:
                return key
            threading.Event().wait(0.01)
        raise OSError(f"{path} is empty: remove it and restart the API") from None
    key = secrets.token_hex(32).encode()
    with os.fdopen(handle, "wb") as file:
        file.write(key)
    return key


class RequestIds:
    """Issues and checks signed request ids (see the module docstring)."""

    def __init__(self, key: bytes, clock: Clock = utc_now, max_age_days: float | None = None):
        # BLAKE2b takes a key of at most 64 bytes: a longer one is hashed down first
        self._key = key if len(key) <= 64 else hashlib.blake2b(key).digest()
        self._clock = clock
        self._token = secrets.token_hex(4)
        self._counter = itertools.count(1)
        if max_age_days is None:
            max_age_days = float(
                os.environ.get("AMAZING_FEEDBACK_MAX_AGE_DAYS", DEFAULT_MAX_AGE_DAYS)
            )
        self.max_age = timedelta(days=max_age_days)

    def _sign(self, payload: str) -> str:
        # keyed BLAKE2b is a MAC by design (no HMAC construction needed), and ~3x cheaper
        return hashlib.blake2b(
            payload.encode(), key=self._key, digest_size=SIGNATURE_DIGITS // 2
        ).hexdigest()

    def issue(self, served_at: datetime) -> str:
        millis = int(served_at.timestamp() * 1000)
        payload = f"{_base36(millis)}.{self._token}.{_base36(next(self._counter))}"
        return f"{payload}.{self._sign(payload)}"

    def issued_at(self, request_id: str) -> datetime | None:
        """When the id was issued, or None when this service did not issue it (or too long
        ago to take feedback on)."""
        parts = request_id.split(".")
        if len(parts) != 4 or len(request_id) > 80:
            return None
        payload = ".".join(parts[:3])
        if not hmac.compare_digest(self._sign(payload), parts[3]):
            return None
        try:
            issued = datetime.fromtimestamp(int(parts[0], 36) / 1000, UTC)
        except (ValueError, OverflowError, OSError):
            return None
        now = self._clock()
        if issued > now + FUTURE_SKEW or now - issued > self.max_age:
            return None
        return issued


class JsonLinesLog:
    """Append-only JSON lines, one file per process and UTC day, written in batches."""

    def __init__(self, directory: Path, process: str) -> None:
        self.directory = directory
        self.process = process
        self._pending: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.written = 0
        self.dropped = 0

    def append(self, day: str, record: dict) -> None:
        line = to_json(record) + b"\n"
        with self._lock:
            self._pending.append((day, line))

    def pending(self) -> int:
        return len(self._pending)

    def path(self, day: str) -> Path:
        return self.directory / f"{day}_{self.process}.jsonl"

    def flush(self) -> int:
        """Write the buffered lines (blocking: call it in a worker thread). Lines that cannot
        be written stay buffered for the next flush."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            by_day: dict[str, list[bytes]] = {}
            for day, line in batch:
                by_day.setdefault(day, []).append(line)
            done = 0
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                for day in list(by_day):
                    append_locked(self.path(day), b"".join(by_day[day]))
                    done += len(by_day.pop(day))
            except OSError as error:
                log.error("feedback log %s not written (%s): kept for the next flush", self, error)
            leftover = [(day, line) for day, lines in by_day.items() for line in lines]
            if leftover:
                with self._lock:
                    self._pending[:0] = leftover
                    # a log that cannot be written for long must not take the server's memory
                    dropped = len(self._pending) - MAX_PENDING_LINES
                    if dropped > 0:
                        del self._pending[:dropped]
                        self.dropped += dropped
                        log.error("feedback log %s: %d oldest line(s) dropped", self, dropped)
            self.written += done
            return done

    def __str__(self) -> str:
        return str(self.directory)


def _stamp(moment: datetime) -> str:
    """ISO-8601 in UTC to the millisecond, with a Z (``2026-12-02T09:30:15.250Z``)."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def process_name() -> str:
    """The file name part of this process: host, pid and a random token (a restarted process
    with a reused pid still gets its own file)."""
    host = "".join(c if c.isalnum() or c == "-" else "-" for c in socket.gethostname())[:32]
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


class FeedbackLog:
    """The impression and feedback logs of one server process, with its request ids."""

    def __init__(self, directory: Path | str, clock: Clock = utc_now) -> None:
        self.directory = Path(directory)
        self.clock = clock
        self.ids = RequestIds(load_key(self.directory), clock)
        name = process_name()
        self.impressions = JsonLinesLog(self.directory / IMPRESSIONS, name)
        self.feedback = JsonLinesLog(self.directory / FEEDBACK, name)

    def impression(
        self,
        *,
        user_id: int | None,
        items: Sequence[int],
        model: str,
        build_id: str,
        route: str,
    ) -> str:
        """Log one answer; returns its request id."""
        served_at = self.clock()
        request_id = self.ids.issue(served_at)
        stamp = _stamp(served_at)
        self.impressions.append(
            stamp[:10],
            {
                "request_id": request_id,
                "served_at": stamp,
                "user_id": user_id,
                "items": items,
                "model": model,
                "build_id": build_id,
                "route": route,
            },
        )
        return request_id

    def record_feedback(self, request_id: str, product_id: int, action: str) -> datetime:
        received_at = self.clock()
        stamp = _stamp(received_at)
        self.feedback.append(
            stamp[:10],
            {
                "request_id": request_id,
                "product_id": product_id,
                "action": action,
                "received_at": stamp,
            },
        )
        return received_at

    def flush(self) -> int:
        return self.impressions.flush() + self.feedback.flush()

    async def run_flusher(self, interval: float = FEEDBACK_FLUSH_SECONDS) -> None:
        import asyncio

        while True:
            await asyncio.sleep(interval)
            if self.impressions.pending() or self.feedback.pending():
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(self.flush)
