from __future__ import annotations

from fastapi import APIRouter, Response

from amazing_analytics.serving.dependencies import Context, SessionBody, json_response
from amazing_analytics.serving.recommend import session_recommendations
from amazing_analytics.serving.schemas import (
    ErrorResponse,
    RecommendationResponse,
)

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
    return json_response(session_recommendations(serving.bundle, serving.gdpr, body))
