"""The recommendation API (FastAPI): ``create_app`` for tests and embedding, ``app_from_env``
as uvicorn's factory (``amazing serve``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from amazing_analytics.serving.bundle import serving_dir
from amazing_analytics.serving.cache import ResponseCache
from amazing_analytics.serving.feedback import (
    FEEDBACK_FLUSH_SECONDS,
    Clock,
    FeedbackLog,
    feedback_dir,
    utc_now,
)
from amazing_analytics.serving.gdpr_live import LiveGdprLists, gdpr_live_dir
from amazing_analytics.serving.middleware import MAX_BODY_BYTES, ServingMiddleware
from amazing_analytics.serving.routers import feedback, health, products, sessions, users
from amazing_analytics.serving.schemas import SessionRequest
from amazing_analytics.serving.state import ServingState

log = logging.getLogger("amazing.serving")

DESCRIPTION = """
Recommendations from the serving bundle the warehouse build writes (`warehouse/serving/`).
The API never opens the DuckDB file. A new bundle is picked up without a restart.

GDPR: erased ids are treated as unknown; opted-out shoppers get non-personalised lists and
nothing about them is used; the live lists in `gdpr_live/` apply at the next request.

Feedback loop: every answer carries a `request_id` and is logged as an impression (in
`feedback/` beside the warehouse); `POST /v1/feedback` records what the shopper did with it.
"""


def _validation_message(errors: list[dict]) -> str:
    parts = []
    for error in errors[:5]:
        loc = list(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            parts.append(f"body: not valid JSON ({error.get('msg', 'invalid')})")
            continue
        where = ".".join(str(p) for p in loc if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request - " + "; ".join(parts) + more


async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    # the errors without the offending input (it may be personal, and it may be huge)
    errors = [
        {
            "loc": list(e.get("loc", ())),
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    return JSONResponse(
        status_code=422, content={"detail": errors, "message": _validation_message(errors)}
    )


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse(
        status_code=exc.status_code,
        content={"detail": detail, "message": detail},
        headers=getattr(exc, "headers", None),
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # never a traceback to the client; the log names the error type, not the request
    log.error("unexpected %s answering %s", type(exc).__name__, request.method)
    return JSONResponse(
        status_code=500, content={"detail": "internal error", "message": "internal error"}
    )


def _document_session_body(app: FastAPI) -> None:
    """The session body is parsed by a dependency (pydantic's JSON parser, faster than FastAPI's
    generic path): its schema is added to the OpenAPI page by hand."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = generate()
            body = SessionRequest.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(body.pop("$defs", {}))
            components["SessionRequest"] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _lifespan(
    state: ServingState, flush_interval: float, reload_interval: float
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """The app's lifespan: the bundle loaded before the first request, the feedback flusher and
    (with a reload interval) the bundle watcher while it serves, the buffered feedback written
    when it stops."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.reload()
        tasks = [asyncio.create_task(state.feedback.run_flusher(flush_interval))]
        if reload_interval > 0:
            tasks.append(asyncio.create_task(state.watch()))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            # the lines still buffered, before the process goes
            state.feedback.flush()

    return lifespan


def _add_routes(app: FastAPI) -> None:
    """One router per resource, and the error handlers that give every error the same shape."""
    for router in (
        sessions.router,
        users.router,
        products.router,
        feedback.router,
        health.router,
    ):
        app.include_router(router)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def create_app(
    bundle_dir: Path | str,
    gdpr_dir: Path | str,
    *,
    reload_interval: float = 1.0,
    max_body_bytes: int = MAX_BODY_BYTES,
    feedback_dir: Path | str | None = None,
    clock: Clock = utc_now,
    cache: ResponseCache | None = None,
    flush_interval: float = FEEDBACK_FLUSH_SECONDS,
) -> FastAPI:
    """The app. ``feedback_dir`` defaults to ``feedback/`` beside the bundle (which is
    ``$AMAZING_FEEDBACK_DIR``'s default when the bundle is in its default place); ``clock``
    dates the impressions (the replay passes the sessions' own times)."""
    bundle_dir = Path(bundle_dir)
    state = ServingState(
        bundle_dir=bundle_dir,
        gdpr=LiveGdprLists(gdpr_dir),
        feedback=FeedbackLog(
            feedback_dir if feedback_dir is not None else bundle_dir.parent / "feedback", clock
        ),
        cache=cache if cache is not None else ResponseCache(),
        reload_interval=reload_interval,
    )

    app = FastAPI(
        title="Amazing analytics recommendations",
        version="1",
        description=DESCRIPTION,
        lifespan=_lifespan(state, flush_interval, reload_interval),
        # the metrics are Prometheus' (/metrics); FastAPI's OpenTelemetry hooks would look up
        # their providers at every request
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.serving = state
    _document_session_body(app)
    _add_routes(app)
    app.add_middleware(ServingMiddleware, max_body_bytes=max_body_bytes, state=state)
    return app


def single_threaded_blas() -> None:
    """One BLAS thread in a server process: an answer's matrix products are small (a user's
    scores over the catalogue), and a second OpenBLAS thread spin-waits for work on a core the
    other worker or the load needs. Measured with 100k products on the shared 2-core machine:
    one user's scores took 1.9 ms of CPU with two threads, 0.2 ms with one. Scale out with
    ``--workers`` instead."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def app_from_env() -> FastAPI:
    """uvicorn's factory: the bundle from ``$AMAZING_SERVING_DIR`` (else beside
    ``$AMAZING_WAREHOUSE``), the live GDPR lists from ``$AMAZING_GDPR_LIVE_DIR``, the feedback
    log in ``$AMAZING_FEEDBACK_DIR``."""
    single_threaded_blas()
    interval = float(os.environ.get("AMAZING_RELOAD_INTERVAL", "1.0"))
    return create_app(
        serving_dir(), gdpr_live_dir(), reload_interval=interval, feedback_dir=feedback_dir()
    )
