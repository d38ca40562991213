"""Request and response models of the recommendation API (the OpenAPI page is the contract)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

#: Ids are BIGINT in the warehouse: anything outside int64 is rejected with a 422.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]
MAX_EVENTS = 200
MAX_K = 100
DEFAULT_K = 10


class SessionEvent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    product_id: Int64 = Field(description="The product the shopper interacted with.")
    event_type: Literal["view", "cart", "remove_from_cart", "purchase"] = Field(
        description="What the shopper did."
    )
    event_time: datetime | None = Field(
        default=None,
        description="ISO-8601; optional. When given, events are put in time order (naive = UTC).",
    )


class SessionRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "user_id": 512345678,
                    "events": [
                        {"product_id": 1004856, "event_type": "view"},
                        {"product_id": 1005115, "event_type": "cart"},
                    ],
                    "k": 10,
                }
            ]
        },
    )

    user_id: Int64 | None = Field(
        default=None, description="The signed-in shopper, or null for an anonymous visitor."
    )
    events: list[SessionEvent] = Field(
        default_factory=list,
        max_length=MAX_EVENTS,
        description=f"The live session, oldest first (at most {MAX_EVENTS} events).",
    )
    k: int = Field(default=DEFAULT_K, ge=1, le=MAX_K, description="How many products to return.")


class RecommendedItem(BaseModel):
    product_id: int
    score: float = Field(description="Comparable within one answer and one source only.")
    reason: str = Field(description="Why, in plain words.")
    source: str = Field(
        description="session, history, embedding, batch (the nightly list) or popularity."
    )


class RecommendationResponse(BaseModel):
    request_id: str = Field(
        default="",
        description="This answer's id (signed): send it back with `POST /v1/feedback`.",
    )
    items: list[RecommendedItem]
    model: str = Field(
        description="The model that produced the list (popularity when it fell back)."
    )
    build_id: str = Field(description="The serving bundle the answer comes from.")
    is_personalised: bool = Field(
        description="false for anonymous, unknown, erased and opted-out shoppers."
    )
    warnings: list[str] = Field(
        description="Inputs that were ignored (e.g. unknown products), in plain words."
    )
    #: why the answer fell back to popularity (for the metrics of a cached answer)
    _fallback: str | None = PrivateAttr(default=None)


class SimilarMethod(StrEnum):
    embedding = "embedding"
    bought_together = "bought_together"


class SimilarItem(BaseModel):
    product_id: int
    score: float = Field(description="Cosine similarity, or sessions bought together.")
    reason: str


class SimilarResponse(BaseModel):
    request_id: str = Field(
        default="",
        description="This answer's id (signed): send it back with `POST /v1/feedback`.",
    )
    product_id: int
    method: SimilarMethod
    items: list[SimilarItem]
    build_id: str
    warnings: list[str]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    build_id: str | None
    created_at: datetime | None
    bundle_age_seconds: float | None
    load_seconds: float | None
    bundle_path: str
    message: str | None = None


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "request_id": "mil2xk1c.5f2c81d0.1.9a1b2c3d4e5f6a7b",
                    "product_id": 1004856,
                    "action": "click",
                }
            ]
        },
    )

    request_id: str = Field(
        min_length=1, max_length=80, description="The `request_id` of the answer shown."
    )
    product_id: Int64 = Field(description="The product of that answer the shopper acted on.")
    action: Literal["click", "cart", "purchase"] = Field(description="What the shopper did.")


class FeedbackReceipt(BaseModel):
    status: Literal["recorded"]
    request_id: str
    product_id: int
    action: str
    received_at: datetime


class ErrorResponse(BaseModel):
    detail: str | list[dict[str, object]]
    message: str
