"""ASGI middleware: the body size limit, per-route metrics, an access log without user ids, and
the fast path of the two hot routes.

Pure ASGI (not BaseHTTPMiddleware) to keep the per-request cost in microseconds.

Fast path: a *valid* ``POST /v1/sessions/recommendations``, ``GET /v1/users/{id}/
recommendations`` or ``GET /v1/products/{id}/similar`` is answered here, by the same functions as the routes (``ServingState.
answer_bytes``), without FastAPI's routing and dependency resolution (a third of a request's CPU
when measured). Anything else (a body or a path that does not validate, no bundle loaded, any
other route) goes on to FastAPI, which gives the documented answers and errors; the routes stay
the contract of the OpenAPI page.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from pydantic import ValidationError

from amazing_analytics.serving.metrics import record_request
from amazing_analytics.serving.schemas import DEFAULT_K, MAX_K, SessionRequest, SimilarMethod
from amazing_analytics.serving.state import (
    SESSIONS_ROUTE,
    SIMILAR_ROUTE,
    USERS_ROUTE,
    answer_session,
    answer_similar,
    answer_user,
)

if TYPE_CHECKING:
    from amazing_analytics.serving.state import ServingState

MAX_BODY_BYTES = 64 * 1024

access_log = logging.getLogger("amazing.access")

Scope = dict[str, Any]


def _route(scope: Scope) -> str:
    """The route template (``/v1/users/{user_id}/recommendations``), never the raw path: the
    path may carry a user id, which must not reach the logs or the metric labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


_USERS_PATH = re.compile(r"/v1/users/(-?[0-9]{1,19})/recommendations")
_SIMILAR_PATH = re.compile(r"/v1/products/(-?[0-9]{1,19})/similar")
_METHODS = {method.value: method for method in SimilarMethod}
_INT64 = (-(2**63), 2**63 - 1)
_JSON_HEADERS = [(b"content-type", b"application/json")]


def _query(query: bytes, allowed: tuple[str, ...]) -> dict[str, str] | None:
    """The parameters of a query string that names each allowed one at most once and nothing
    else, or None (then FastAPI decides)."""
    if not query:
        return {}
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    found = dict(pairs)
    if len(found) != len(pairs) or not set(found) <= set(allowed):
        return None
    return found


def _k(params: dict[str, str]) -> int | None:
    text = params.get("k")
    if text is None:
        return DEFAULT_K
    if not text.isdigit():
        return None
    k = int(text)
    return k if 1 <= k <= MAX_K else None


def _int64(text: str) -> int | None:
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else None


def fast_answer(state: ServingState, method: str, path: str, query: bytes, body: bytes):
    """(route template, JSON answer) of a valid request to a hot route; None otherwise."""
    bundle = state.bundle
    if bundle is None:
        return None
    if method == "POST" and path == SESSIONS_ROUTE:
        try:
            request = SessionRequest.model_validate_json(body)
        except ValidationError:
            return None
        return SESSIONS_ROUTE, answer_session(state, bundle, request)
    if method != "GET":
        return None
    if path.startswith("/v1/users/"):
        match = _USERS_PATH.fullmatch(path)
        params = _query(query, ("k",)) if match else None
        k = _k(params) if params is not None else None
        user_id = _int64(match[1]) if match else None
        if k is None or user_id is None:
            return None
        return USERS_ROUTE, answer_user(state, bundle, user_id, k)
    if path.startswith("/v1/products/"):
        match = _SIMILAR_PATH.fullmatch(path)
        params = _query(query, ("k", "method")) if match else None
        k = _k(params) if params is not None else None
        product_id = _int64(match[1]) if match else None
        if k is None or product_id is None or product_id not in bundle.catalogue:
            return None  # an unknown product: FastAPI's 404
        similar = _METHODS.get(params.get("method", SimilarMethod.embedding.value))  # type: ignore[union-attr]
        if similar is None:
            return None
        return SIMILAR_ROUTE, answer_similar(state, bundle, product_id, k, similar)
    return None


async def _send_json(send, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _reply(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "message": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ServingMiddleware:
    def __init__(
        self, app, max_body_bytes: int = MAX_BODY_BYTES, state: ServingState | None = None
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.state = state

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        method = scope.get("method", "")
        route: str | None = None

        async def send_with_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            too_big = self._declared_too_big(scope)
            if too_big:
                status = 413
                await _reply(send, 413, too_big)
                return
            body = b""
            if method in ("POST", "PUT", "PATCH"):
                body, too_big = await self._read_body(receive)
                if too_big:
                    status = 413
                    await _reply(send, 413, too_big)
                    return
                receive = _replay(body)
            if self.state is not None:
                fast = fast_answer(
                    self.state, method, scope["path"], scope.get("query_string", b""), body
                )
                if fast is not None:
                    route, answer = fast
                    status = 200
                    await _send_json(send, answer)
                    return
            await self.app(scope, receive, send_with_status)
        finally:
            elapsed = time.perf_counter() - started
            route = route or _route(scope)
            record_request(route, method, status, elapsed)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info("%s %s %d %.2fms", method, route, status, elapsed * 1000)

    def _declared_too_big(self, scope: Scope) -> str | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    return None
                if length > self.max_body_bytes:
                    return f"request body of {length} bytes is over the {self.max_body_bytes}-byte limit"
        return None

    async def _read_body(self, receive) -> tuple[bytes, str | None]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return b"", f"request body is over the {self.max_body_bytes}-byte limit"
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks), None


def _replay(body: bytes):
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
