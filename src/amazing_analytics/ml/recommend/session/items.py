"""What goes into the session recommender and what comes out: a session's events, the scored
products, and the one error it raises for unusable input."""

from __future__ import annotations

from dataclasses import dataclass

EVENT_TYPES = ("view", "cart", "remove_from_cart", "purchase")


@dataclass(frozen=True)
class SessionItem:
    product_id: int
    event_type: str  # view | cart | remove_from_cart | purchase


@dataclass(frozen=True)
class ScoredItem:
    product_id: int
    score: float
    source_product_id: int | None  # the session/history product that brought it, for the reason
    source: str  # 'session' | 'history' | 'embedding' | 'popularity'


class SessionInputError(ValueError):
    """A session, a model name or its params are not usable (the message says why)."""
