"""FastAPI dependencies: the loaded bundle and the live GDPR lists of the app's state.

All ``async def``: they do no I/O, and FastAPI runs a plain ``def`` dependency in its thread pool
(a thread hop per dependency per request).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from amazing_analytics.serving.gdpr_live import LiveGdprLists
from amazing_analytics.serving.schemas import SessionRequest
from amazing_analytics.serving.state import ServingState
from amazing_analytics.serving.store import LoadedBundle


async def get_state(request: Request) -> ServingState:
    return request.app.state.serving


async def get_bundle(request: Request) -> LoadedBundle:
    """The bundle this request is answered from (taken once: a reload does not change it)."""
    state: ServingState = request.app.state.serving
    bundle = state.bundle
    if bundle is None:
        raise HTTPException(status_code=503, detail=f"not ready: {state.last_error}")
    return bundle


async def get_gdpr(request: Request) -> LiveGdprLists:
    return request.app.state.serving.gdpr


@dataclass(frozen=True)
class Serving:
    """What a recommendation route needs, as one dependency (each dependency costs FastAPI
    tens of microseconds per request): the bundle taken for this request and the live lists."""

    bundle: LoadedBundle
    gdpr: LiveGdprLists
    state: ServingState


async def get_serving(request: Request) -> Serving:
    state: ServingState = request.app.state.serving
    return Serving(await get_bundle(request), state.gdpr, state)


Bundle = Annotated[LoadedBundle, Depends(get_bundle)]
Context = Annotated[Serving, Depends(get_serving)]
Gdpr = Annotated[LiveGdprLists, Depends(get_gdpr)]
State = Annotated[ServingState, Depends(get_state)]


def json_bytes(content: bytes) -> Response:
    """An answer already serialised (``ServingState.answer_bytes``)."""
    return Response(content=content, media_type="application/json")


def json_response(model: BaseModel, status_code: int = 200) -> Response:
    """The answer serialised by pydantic in one step (the route's response_model still documents
    it in the OpenAPI page): FastAPI's generic path would re-validate and re-encode it."""
    return Response(
        content=model.model_dump_json(), media_type="application/json", status_code=status_code
    )


async def session_request(request: Request) -> SessionRequest:
    """The POST body parsed and validated by pydantic in one step (Rust JSON parser); errors
    become the usual 422 (locations under ``body``, as FastAPI reports them)."""
    body = await request.body()
    if not body.strip():
        raise RequestValidationError(
            [{"loc": ("body",), "msg": "a JSON object is required", "type": "missing"}]
        )
    try:
        return SessionRequest.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e.get("loc", ()))} for e in error.errors(include_input=False)]
        ) from None


SessionBody = Annotated[SessionRequest, Depends(session_request)]
