from __future__ import annotations

from fastapi import APIRouter, HTTPException, Response

from amazing_analytics.serving.dependencies import State, json_response
from amazing_analytics.serving.schemas import ErrorResponse, FeedbackReceipt, FeedbackRequest

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post(
    "/feedback",
    status_code=202,
    response_model=FeedbackReceipt,
    responses={404: {"model": ErrorResponse}, 422: {"model": ErrorResponse}},
    summary="What the shopper did with a product of an answer (click, cart, purchase)",
)
async def record_feedback(body: FeedbackRequest, state: State) -> Response:
    log = state.feedback
    if log.ids.issued_at(body.request_id) is None:
        days = log.ids.max_age.total_seconds() / 86400
        raise HTTPException(
            status_code=404,
            detail=(
                f"unknown request_id {body.request_id[:80]!r}: not issued by this service, "
                f"or more than {days:g} days ago"
            ),
        )
    received_at = log.record_feedback(body.request_id, body.product_id, body.action)
    receipt = FeedbackReceipt(
        status="recorded",
        request_id=body.request_id,
        product_id=body.product_id,
        action=body.action,
        received_at=received_at,
    )
    return json_response(receipt, status_code=202)
