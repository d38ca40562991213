from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from amazing_analytics.serving.dependencies import Context, json_response
from amazing_analytics.serving.recommend import user_recommendations
from amazing_analytics.serving.schemas import (
    DEFAULT_K,
    MAX_K,
    ErrorResponse,
    RecommendationResponse,
)

router = APIRouter(prefix="/v1/users", tags=["users"])


@router.get(
    "/{user_id}/recommendations",
    response_model=RecommendationResponse,
    responses={422: {"model": ErrorResponse}},
    summary="A shopper's nightly list (popularity for unknown, erased and opted-out shoppers)",
)
async def recommend_for_user(
    user_id: Annotated[int, Path(ge=-(2**63), le=2**63 - 1)],
    serving: Context,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = DEFAULT_K,
) -> Response:
    return json_response(user_recommendations(serving.bundle, serving.gdpr, user_id, k))
