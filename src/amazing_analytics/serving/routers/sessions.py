from __future__ import annotations

from fastapi import APIRouter, Response

from amazing_analytics.serving.dependencies import Context, SessionBody, json_bytes
from amazing_analytics.serving.schemas import ErrorResponse, RecommendationResponse
from amazing_analytics.serving.state import answer_session

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.post(
    "/recommendations",
    response_model=RecommendationResponse,
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    summary="Recommendations for a live session (and the shopper, when known)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SessionRequest"}}
            },
        }
    },
)
async def recommend_for_session(body: SessionBody, serving: Context) -> Response:
    return json_bytes(answer_session(serving.state, serving.bundle, body))
