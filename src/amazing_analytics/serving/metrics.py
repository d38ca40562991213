"""Prometheus metrics of the API (``GET /metrics``).

One process: the default registry. Several workers (``--workers N``): set
``PROMETHEUS_MULTIPROC_DIR`` to an empty directory before starting; every worker then writes
its samples there and ``/metrics`` aggregates them (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

if TYPE_CHECKING:
    from amazing_analytics.serving.store import LoadedBundle

# the *_created series double the page for no use here
disable_created_metrics()

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.002,
    0.003,
    0.005,
    0.0075,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
)

REQUESTS = Counter(
    "amazing_api_requests_total",
    "HTTP requests answered, per route template, method and status code.",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "amazing_api_request_duration_seconds",
    "Time from the request's arrival to its last byte, per route template, method and status.",
    ["route", "method", "status"],
    buckets=LATENCY_BUCKETS,
)
FALLBACKS = Counter(
    "amazing_api_popularity_fallbacks_total",
    "Answers served from popularity alone instead of a personal or session model, by reason.",
    ["endpoint", "reason"],
)
BUNDLE_INFO = Gauge(
    "amazing_bundle_info",
    "The serving bundle loaded (value 1, its build id as a label).",
    ["build_id"],
    multiprocess_mode="liveall",
)
BUNDLE_AGE = Gauge(
    "amazing_bundle_age_seconds",
    "Seconds since the loaded bundle was built (updated at every scrape and reload).",
    multiprocess_mode="liveall",
)
BUNDLE_LOAD = Gauge(
    "amazing_bundle_load_seconds",
    "Seconds the last bundle load took.",
    multiprocess_mode="liveall",
)
RELOADS = Counter(
    "amazing_bundle_reloads_total",
    "Bundle (re)loads, by result (ok, failed: the previous bundle keeps serving).",
    ["result"],
)

CACHE = Counter(
    "amazing_api_cache_requests_total",
    "Recommendation answers by endpoint and cache result (hit, miss).",
    ["endpoint", "result"],
)


_children: dict[tuple[str, str, int], tuple] = {}


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    key = (route, method, status)
    children = _children.get(key)
    if children is None:  # label lookups cached: a few microseconds per request saved
        code = str(status)
        children = (REQUESTS.labels(route, method, code), LATENCY.labels(route, method, code))
        _children[key] = children
    children[0].inc()
    children[1].observe(seconds)


_cache_children: dict[tuple[str, bool], object] = {}


def record_cache(endpoint: str, hit: bool) -> None:
    child = _cache_children.get((endpoint, hit))
    if child is None:
        child = CACHE.labels(endpoint, "hit" if hit else "miss")
        _cache_children[(endpoint, hit)] = child
    child.inc()  # type: ignore[attr-defined]


def record_fallback(endpoint: str, reason: str) -> None:
    FALLBACKS.labels(endpoint, reason).inc()


def record_bundle(bundle: LoadedBundle | None, previous: LoadedBundle | None = None) -> None:
    if previous is not None and (bundle is None or previous.build_id != bundle.build_id):
        with contextlib.suppress(KeyError):
            BUNDLE_INFO.remove(previous.build_id)
    if bundle is not None:
        BUNDLE_INFO.labels(bundle.build_id).set(1)
        BUNDLE_AGE.set(bundle.age_seconds())
        BUNDLE_LOAD.set(bundle.load_seconds)


def exposition(bundle: LoadedBundle | None) -> tuple[bytes, str]:
    """The metrics page (multiprocess-aware) and its content type."""
    if bundle is not None:
        BUNDLE_AGE.set(bundle.age_seconds())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
