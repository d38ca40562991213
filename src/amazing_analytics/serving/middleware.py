"""ASGI middleware: the body size limit, per-route metrics and an access log without user ids.

Pure ASGI (not BaseHTTPMiddleware) to keep the per-request cost in microseconds.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from amazing_analytics.serving.metrics import record_request

MAX_BODY_BYTES = 64 * 1024

access_log = logging.getLogger("amazing.access")

Scope = dict[str, Any]


def _route(scope: Scope) -> str:
    """The route template (``/v1/users/{user_id}/recommendations``), never the raw path: the
    path may carry a user id, which must not reach the logs or the metric labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


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
    def __init__(self, app, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        method = scope.get("method", "")

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
            if method in ("POST", "PUT", "PATCH"):
                body, too_big = await self._read_body(receive)
                if too_big:
                    status = 413
                    await _reply(send, 413, too_big)
                    return
                await self.app(scope, _replay(body), send_with_status)
            else:
                await self.app(scope, receive, send_with_status)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
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
