from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from amazing_analytics.serving.dependencies import State
from amazing_analytics.serving.metrics import exposition
from amazing_analytics.serving.schemas import Health, Readiness

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness}},
    summary="Readiness: a bundle is loaded (its build id and age)",
)
async def readyz(state: State) -> Readiness | JSONResponse:
    bundle = state.bundle
    if bundle is None:
        body = Readiness(
            status="not_ready",
            build_id=None,
            created_at=None,
            bundle_age_seconds=None,
            load_seconds=None,
            bundle_path=str(state.bundle_dir),
            message=state.last_error,
        )
        return JSONResponse(status_code=503, content=body.model_dump(mode="json"))
    return Readiness(
        status="ready",
        build_id=bundle.build_id,
        created_at=bundle.created_at,
        bundle_age_seconds=round(bundle.age_seconds(), 3),
        load_seconds=round(bundle.load_seconds, 3),
        bundle_path=str(bundle.path),
        message=state.last_error,
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus_metrics(state: State) -> Response:
    payload, content_type = exposition(state.bundle)
    return Response(content=payload, media_type=content_type)
