"""FastAPI dependencies: the loaded bundle and the live GDPR lists of the app's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from amazing_analytics.serving.gdpr_live import LiveGdprLists
from amazing_analytics.serving.state import ServingState
from amazing_analytics.serving.store import LoadedBundle


def get_state(request: Request) -> ServingState:
    return request.app.state.serving


def get_bundle(request: Request) -> LoadedBundle:
    """The bundle this request is answered from (taken once: a reload does not change it)."""
    state: ServingState = request.app.state.serving
    bundle = state.bundle
    if bundle is None:
        raise HTTPException(status_code=503, detail=f"not ready: {state.last_error}")
    return bundle


def get_gdpr(request: Request) -> LiveGdprLists:
    return request.app.state.serving.gdpr


Bundle = Annotated[LoadedBundle, Depends(get_bundle)]
Gdpr = Annotated[LiveGdprLists, Depends(get_gdpr)]
State = Annotated[ServingState, Depends(get_state)]
