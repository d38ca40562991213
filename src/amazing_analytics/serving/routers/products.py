from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from amazing_analytics.serving.dependencies import Context, json_bytes
from amazing_analytics.serving.recommend import UnknownProductError
from amazing_analytics.serving.schemas import (
    DEFAULT_K,
    MAX_K,
    ErrorResponse,
    SimilarMethod,
    SimilarResponse,
)
from amazing_analytics.serving.state import answer_similar

router = APIRouter(prefix="/v1/products", tags=["products"])


@router.get(
    "/{product_id}/similar",
    response_model=SimilarResponse,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    summary="Similar products for a product page (by embedding or bought together)",
)
async def similar(
    product_id: Annotated[int, Path(ge=-(2**63), le=2**63 - 1)],
    serving: Context,
    k: Annotated[int, Query(ge=1, le=MAX_K)] = DEFAULT_K,
    method: SimilarMethod = SimilarMethod.embedding,
) -> Response:
    try:
        return json_bytes(answer_similar(serving.state, serving.bundle, product_id, k, method))
    except UnknownProductError as error:
        raise HTTPException(status_code=404, detail=str(error)) from error
