"""The API's shared state: the loaded bundle (swapped whole on reload) and the live GDPR lists."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

from amazing_analytics.serving import metrics
from amazing_analytics.serving.bundle import BundleError
from amazing_analytics.serving.gdpr_live import LiveGdprLists
from amazing_analytics.serving.store import LoadedBundle, bundle_signature, load_bundle

log = logging.getLogger("amazing.serving")


@dataclass
class ServingState:
    bundle_dir: Path
    gdpr: LiveGdprLists
    reload_interval: float = 1.0
    bundle: LoadedBundle | None = None
    last_error: str | None = None
    _signature: tuple[str, int, int] | None = field(default=None, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def load_now(self) -> bool:
        """Load the bundle if it changed (blocking). True when a new bundle was swapped in."""
        signature = bundle_signature(self.bundle_dir)
        if signature is None:
            if self.bundle is None:
                self.last_error = f"no serving bundle at {self.bundle_dir}: run `make build`"
            return False
        if signature == self._signature:
            return False
        try:
            bundle = load_bundle(signature[0])
        except (BundleError, OSError, ValueError) as error:
            # keep serving the previous bundle; retried at the next poll if the files change
            self._signature = signature
            self.last_error = str(error)
            metrics.RELOADS.labels("failed").inc()
            log.error("serving bundle not loaded: %s", error)
            return False
        previous, self.bundle = self.bundle, bundle  # one reference swap: requests keep theirs
        self._signature = signature
        self.last_error = None
        metrics.RELOADS.labels("ok").inc()
        metrics.record_bundle(bundle, previous)
        log.info(
            "serving bundle %s loaded in %.2f s from %s",
            bundle.build_id,
            bundle.load_seconds,
            bundle.path,
        )
        return True

    async def reload(self) -> bool:
        """Load a changed bundle in a worker thread: requests keep being answered meanwhile."""
        async with self._lock:
            return await asyncio.to_thread(self.load_now)

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.reload_interval)
            try:
                await self.reload()
            except Exception:  # the watcher must never die: log and keep the current bundle
                log.exception("bundle reload failed")
