"""The API's shared state: the loaded bundle (swapped whole on reload), the live GDPR lists, the
response cache and the feedback log; ``answer`` is the path every recommendation answer takes."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from amazing_analytics.serving import metrics
from amazing_analytics.serving.bundle import BundleError
from amazing_analytics.serving.cache import CachedAnswer, ResponseCache
from amazing_analytics.serving.feedback import FeedbackLog
from amazing_analytics.serving.gdpr_live import GdprSnapshot, LiveGdprLists
from amazing_analytics.serving.recommend import (
    session_key,
    session_recommendations,
    similar_products,
    user_recommendations,
)
from amazing_analytics.serving.schemas import SessionRequest, SimilarMethod
from amazing_analytics.serving.store import LoadedBundle, bundle_signature, load_bundle

#: How every answer's JSON starts before its request id is put in (the model's first field).
_PLACEHOLDER = b'{"request_id":""'

log = logging.getLogger("amazing.serving")


@dataclass
class ServingState:
    bundle_dir: Path
    gdpr: LiveGdprLists
    feedback: FeedbackLog
    cache: ResponseCache = field(default_factory=ResponseCache)
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
        del previous
        settle_heap()
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

    def answer_bytes(
        self,
        bundle: LoadedBundle,
        key: Hashable,
        compute: Callable[[GdprSnapshot], BaseModel],
        *,
        route: str,
        endpoint: str,
        user_id: int | None = None,
    ) -> bytes:
        """The answer (JSON) from the cache or from ``compute``, logged as an impression under
        a new request id. The live lists are read once, first: a changed list (an opt-out, an
        erasure) or a new bundle empties the cache before it is used, and ``compute`` gets the
        same lists."""
        gdpr = self.gdpr.snapshot()
        cache = self.cache
        cache.use_generation(bundle, gdpr.opted_out_ids, gdpr.erased_ids)
        cached = cache.get(key) if cache.enabled else None
        if cached is None:
            response = compute(gdpr)
            data = response.model_dump_json().encode()
            if not data.startswith(_PLACEHOLDER):  # pragma: no cover - a schema change
                raise RuntimeError("answers must start with an empty request_id")
            cached = CachedAnswer(
                tail=data[len(_PLACEHOLDER) :],
                items=tuple(item.product_id for item in response.items),  # type: ignore[attr-defined]
                model=str(getattr(response, "model", getattr(response, "method", ""))),
                fallback=getattr(response, "_fallback", None),
            )
            cache.put(key, cached)
            metrics.record_cache(endpoint, False)
        else:
            metrics.record_cache(endpoint, True)
            if cached.fallback is not None:
                metrics.record_fallback(endpoint, cached.fallback)
        # GDPR: an opted-out or erased shopper's id is not written to the log
        logged_user = user_id
        if user_id is not None and (
            user_id in gdpr.opted_out_ids
            or user_id in gdpr.erased_ids
            or user_id in bundle.opted_out
            or user_id in bundle.erased
        ):
            logged_user = None
        request_id = self.feedback.impression(
            user_id=logged_user,
            items=cached.items,
            model=cached.model,
            build_id=bundle.build_id,
            route=route,
        )
        return b'{"request_id":"' + request_id.encode() + b'"' + cached.tail


def settle_heap() -> None:
    """After a bundle swap: collect what the old bundle left, then take every object that
    survives (the new bundle's dicts, lists and strings, the app's own) out of the cycle
    collector's reach until the next swap (``gc.freeze``).

    Python's automatic collections run every few hundred requests and the older generations
    traverse every tracked object: with the 1.5M-event demo's bundle loaded, one full
    collection took 35-100 ms of CPU (measured), on whichever request it landed. Frozen
    objects are still freed by reference counting when the bundle is replaced; the
    ``unfreeze`` and ``collect`` first let the previous bundle's reference cycles go (a pause
    once per reload, in the reload's thread)."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


SESSIONS_ROUTE = "/v1/sessions/recommendations"
USERS_ROUTE = "/v1/users/{user_id}/recommendations"
SIMILAR_ROUTE = "/v1/products/{product_id}/similar"


def answer_session(state: ServingState, bundle: LoadedBundle, request: SessionRequest) -> bytes:
    """``POST /v1/sessions/recommendations`` (the route and the middleware's fast path)."""
    return state.answer_bytes(
        bundle,
        ("sessions", *session_key(request)),
        lambda gdpr: session_recommendations(bundle, gdpr, request),
        route=SESSIONS_ROUTE,
        endpoint="sessions",
        user_id=request.user_id,
    )


def answer_user(state: ServingState, bundle: LoadedBundle, user_id: int, k: int) -> bytes:
    """``GET /v1/users/{user_id}/recommendations`` (the route and the fast path)."""
    return state.answer_bytes(
        bundle,
        ("users", user_id, k),
        lambda gdpr: user_recommendations(bundle, gdpr, user_id, k),
        route=USERS_ROUTE,
        endpoint="users",
        user_id=user_id,
    )


def answer_similar(
    state: ServingState, bundle: LoadedBundle, product_id: int, k: int, method: SimilarMethod
) -> bytes:
    """``GET /v1/products/{product_id}/similar``; UnknownProductError for a product the bundle
    does not have."""
    return state.answer_bytes(
        bundle,
        ("similar", product_id, k, method),
        lambda gdpr: similar_products(bundle, product_id, k, method),
        route=SIMILAR_ROUTE,
        endpoint="similar",
    )
