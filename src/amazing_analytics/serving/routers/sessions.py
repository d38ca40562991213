from __future__ import annotations

from fastapi import APIRouter

from amazing_analytics.serving.dependencies import Bundle, Gdpr
from amazing_analytics.serving.recommend import session_recommendations
from amazing_analytics.serving.schemas import (
    ErrorResponse,
    RecommendationResponse,
    SessionRequest,
)

router = APIRouter(prefix="/v1/sessions", tags=["sessions"])


@router.post(
    "/recommendations",
    response_model=RecommendationResponse,
    responses={413: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    summary="Recommendations for a live session (and the shopper, when known)",
)
async def recommend_for_session(
    body: SessionRequest, bundle: Bundle, gdpr: Gdpr
) -> RecommendationResponse:
    return session_recommendations(bundle, gdpr, body)
