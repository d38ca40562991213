"""The response cache: a bounded LRU with a time to live, per server process.

Keyed on the normalised request (the session's products and event types in the order the
answer uses them, the user id, k; or the route's parameters). An entry belongs to a
*generation*: the bundle object and the two live GDPR lists (their snapshots are new objects
whenever their file changes). A request that sees another generation empties the cache first,
so no answer survives a new bundle, an opt-out or an erasure: the first request after an
opt-out is computed again, from the lists that hold it.

``$AMAZING_CACHE_SIZE`` entries (default 10,000; 0 switches the cache off), each kept
``$AMAZING_CACHE_TTL_SECONDS`` (default 300).
"""

from __future__ import annotations

import os
import time
from array import array
from collections import OrderedDict
from collections.abc import Hashable
from typing import NamedTuple

DEFAULT_SIZE = 10_000
DEFAULT_TTL_SECONDS = 300.0


class CachedAnswer(NamedTuple):
    """An answer without its request id: the JSON after ``{"request_id":"..."``, and what the
    impression log and the metrics need.

    The cache holds it, and its key, as objects Python's cycle collector does not track
    (bytes, and a flat tuple of atoms it stops tracking at its first look): 10,000 answers
    held as tracked tuples made the collections traverse them (up to 15 ms of CPU each,
    measured), a pause that lands on whichever request is running."""

    tail: bytes
    items: tuple[int, ...]
    model: str
    fallback: str | None


class ResponseCache:
    def __init__(self, size: int | None = None, ttl_seconds: float | None = None) -> None:
        if size is None:
            size = int(os.environ.get("AMAZING_CACHE_SIZE", DEFAULT_SIZE))
        if ttl_seconds is None:
            ttl_seconds = float(os.environ.get("AMAZING_CACHE_TTL_SECONDS", DEFAULT_TTL_SECONDS))
        self.size = max(size, 0)
        self.ttl = ttl_seconds
        self._entries: OrderedDict[bytes, tuple] = OrderedDict()
        # the objects themselves, not their ids: an id may be reused once its object is freed
        self._generation: tuple[object, ...] = ()
        self.hits = 0
        self.misses = 0
        self.invalidations = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def __len__(self) -> int:
        return len(self._entries)

    def use_generation(self, *parts: object) -> None:
        """Empty the cache when the bundle or a live list is not the one its entries came from."""
        current = self._generation
        if len(parts) == len(current) and all(a is b for a, b in zip(parts, current, strict=True)):
            return
        if self._entries:
            self.invalidations += 1
        self._entries.clear()
        self._generation = parts

    def get(self, key: Hashable) -> CachedAnswer | None:
        key = _flat(key)
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            return None
        if entry[0] < time.monotonic():
            del self._entries[key]
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        _, tail, items, model, fallback = entry
        return CachedAnswer(tail, tuple(array("q", items)), model, fallback)

    def put(self, key: Hashable, answer: CachedAnswer) -> None:
        if not self.size:
            return
        key = _flat(key)
        items = array("q", answer.items).tobytes()
        self._entries[key] = (time.monotonic() + self.ttl, answer.tail, items, *answer[2:])
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)


def _flat(key: Hashable) -> bytes:
    """The key as bytes: its repr is exact for the ints, strings, booleans, None and enums the
    routes' keys are made of, and bytes are not tracked by the cycle collector."""
    return repr(key).encode()
