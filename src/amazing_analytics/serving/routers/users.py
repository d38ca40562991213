from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from amazing_analytics.serving.dependencies import Context, json_bytes
from amazing_analytics.serving.schemas import (
    DEFAULT_K,
    MAX_K,
    ErrorResponse,
    RecommendationResponse,
)
from amazing_analytics.serving.state import answer_user

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
    return json_bytes(answer_user(serving.state, serving.bundle, user_id, k))
