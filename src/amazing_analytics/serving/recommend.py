"""What the API answers: one function per endpoint, from a loaded bundle and the live GDPR lists.

The order of the blend (each step only adds products not already listed):

1. the live session, scored by the selected session model (``recommend_for_session``), with a
   known shopper's recently-viewed-not-bought history blended in by that same function;
2. a known shopper's embedding (user vector . item vectors + item bias, the served LightFM);
3. a known shopper's nightly list (``user_recommendations``);
4. popularity in the context of the session's latest product (its category, then its family),
   then overall.

GDPR: an erased id is treated exactly like an unknown one (same answer, same warning); an
opted-out shopper gets the overall popular list and nothing about them (not even the events
sent) is used. The bundle's lists and the live lists are both applied.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

import numpy as np

from amazing_analytics.ml.recommend.session import SessionItem, recommend_for_session
from amazing_analytics.ml.recommend.topk import best_positions
from amazing_analytics.serving.gdpr_live import GdprSnapshot, LiveGdprLists
from amazing_analytics.serving.metrics import record_fallback
from amazing_analytics.serving.schemas import (
    RecommendationResponse,
    SessionRequest,
    SimilarItem,
    SimilarMethod,
    SimilarResponse,
)
from amazing_analytics.serving.store import BATCH_SOURCES, LoadedBundle

#: At most this many ignored ids are named in one warning.
MAX_NAMED_IDS = 20
POPULAR_ALL = ("all", "all")
UNKNOWN_USER_WARNING = "user_id is not known to this build: non-personalised products"
OPTED_OUT_WARNING = "the shopper opted out of personalisation: the events sent were not used"
VERBS = {
    "view": "viewed",
    "cart": "put in your cart",
    "remove_from_cart": "looked at",
    "purchase": "bought",
}


class UnknownProductError(LookupError):
    """The product is not in the serving bundle."""


class Shopper(StrEnum):
    anonymous = "anonymous"
    unknown = "unknown"  # includes erased ids: indistinguishable on purpose
    opted_out = "opted_out"
    known = "known"


GdprLists = LiveGdprLists | GdprSnapshot


def shopper_status(bundle: LoadedBundle, gdpr: GdprLists, user_id: int | None) -> Shopper:
    if user_id is None:
        return Shopper.anonymous
    if user_id in bundle.erased or user_id in gdpr.erased():
        return Shopper.unknown
    if user_id in bundle.opted_out or user_id in gdpr.opted_out():
        return Shopper.opted_out
    known = (
        bundle.user_lists.span(user_id) is not None
        or bundle.history.span(user_id) is not None
        or bundle.embeddings.user_vector(user_id) is not None
    )
    return Shopper.known if known else Shopper.unknown


def _finite(value: float) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0


@dataclass
class _Answer:
    """A list being filled, never with the same product twice."""

    k: int
    blocked: set[int]
    items: list[dict] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return len(self.items) >= self.k

    def add(self, product_id: int, score: float, reason: str, source: str) -> None:
        if len(self.items) >= self.k or product_id in self.blocked:
            return
        self.blocked.add(product_id)
        # plain dicts: the whole answer is validated once, in pydantic's core, at the end
        self.items.append(
            {"product_id": product_id, "score": _finite(score), "reason": reason, "source": source}
        )
        self.sources.append(source)


def _popular(bundle: LoadedBundle, answer: _Answer, contexts: Iterable[tuple[str, str]]) -> None:
    for context in (*contexts, POPULAR_ALL):
        if answer.full:
            return
        popular = bundle.popular.get(context)
        if popular is None:
            continue
        for product, score, reason in zip(
            popular.product_ids, popular.scores, popular.reasons, strict=True
        ):
            if answer.full:
                return
            answer.add(product, score, reason, "popularity")


def _contexts(bundle: LoadedBundle, product_id: int | None) -> list[tuple[str, str]]:
    if product_id is None:
        return []
    pos = bundle.catalogue.position(product_id)
    if pos < 0:
        return []
    contexts = []
    category = bundle.catalogue.category_ids[pos]
    if category is not None:
        contexts.append(("category", str(category)))
    family = bundle.catalogue.category_families[pos]
    if family and family != "unknown":
        contexts.append(("category_family", family))
    return contexts


def _history(bundle: LoadedBundle, user_id: int) -> tuple[list[int], set[int]]:
    """(recently viewed not bought, newest first; bought products not to recommend again)."""
    span = bundle.history.span(user_id)
    if span is None:
        return [], set()
    start, end = span
    products = bundle.history.columns["product_id"][start:end].tolist()
    bought = bundle.history.columns["is_bought"][start:end].tolist()
    recent = [p for p, b in zip(products, bought, strict=True) if not b]
    catalogue = bundle.catalogue
    never_again = set()
    for product, was_bought in zip(products, bought, strict=True):
        if was_bought:
            pos = catalogue.position(product)
            if pos < 0 or not catalogue.repeat_purchase[pos]:
                never_again.add(product)
    return recent, never_again


def _embedding_fill(bundle: LoadedBundle, answer: _Answer, user_id: int) -> None:
    vector = bundle.embeddings.user_vector(user_id)
    index = bundle.embeddings
    if vector is None or not index.vectors.size or answer.full:
        return
    scores = index.vectors @ vector + index.biases
    wanted = min(scores.size, answer.k + len(answer.blocked))
    # the index is in product id order: of tied scores (products without interactions share
    # their features' vector and bias), the lowest product ids
    top = best_positions(scores, wanted)
    top = top[np.lexsort((index.product_ids[top], -scores[top]))]
    for pos in top.tolist():
        answer.add(
            int(index.product_ids[pos]),
            float(scores[pos]),
            "Picked for you from your past visits",
            "embedding",
        )


def _batch_fill(bundle: LoadedBundle, answer: _Answer, user_id: int) -> None:
    span = bundle.user_lists.span(user_id)
    if span is None:
        return
    start, end = span
    columns = bundle.user_lists.columns
    for product, score, reason, model in zip(
        columns["product_id"][start:end].tolist(),
        columns["score"][start:end].tolist(),
        columns["reason"][start:end],
        columns["model"][start:end],
        strict=True,
    ):
        if answer.full:
            return
        answer.add(product, score, reason, BATCH_SOURCES[model])


def _ignored(ids: list[int], what: str) -> str:
    named = ", ".join(str(i) for i in ids[:MAX_NAMED_IDS])
    more = f" and {len(ids) - MAX_NAMED_IDS} more" if len(ids) > MAX_NAMED_IDS else ""
    return f"{what} ignored: {named}{more}"


MIXED_TIMES_WARNING = "event_time is missing on some events: the events are taken in the order sent"


def session_key(request: SessionRequest) -> tuple:
    """The request as the answer sees it (the cache's key): the user, k, and the events in the
    order used, without their times; whether some times were missing (it adds a warning)."""
    warnings: list[str] = []
    events = _ordered(request, warnings)
    return (request.user_id, request.k, tuple(events), bool(warnings))


def _ordered(request: SessionRequest, warnings: list[str]) -> list[tuple[int, str]]:
    events = request.events
    times = [event.event_time for event in events]
    if not any(t is not None for t in times):
        return [(event.product_id, event.event_type) for event in events]
    if all(t is not None for t in times):

        def key(index: int) -> datetime:
            t = times[index]
            assert t is not None
            return t if t.tzinfo else t.replace(tzinfo=UTC)

        order = sorted(range(len(events)), key=key)
        events = [events[i] for i in order]
    else:
        warnings.append(MIXED_TIMES_WARNING)
    return [(event.product_id, event.event_type) for event in events]


def _response(
    bundle: LoadedBundle, answer: _Answer, model: str, warnings: list[str], endpoint: str, why: str
) -> RecommendationResponse:
    personal = any(source != "popularity" for source in answer.sources)
    if not personal:
        record_fallback(endpoint, why)
        model = "popularity"
    if len(answer.items) < answer.k:
        warnings.append(f"only {len(answer.items)} products could be recommended (k={answer.k})")
    response = RecommendationResponse.model_validate(
        {
            "items": answer.items,
            "model": model,
            "build_id": bundle.build_id,
            "is_personalised": personal,
            "warnings": warnings,
        }
    )
    if not personal:
        response._fallback = why
    return response


def session_recommendations(
    bundle: LoadedBundle, gdpr: GdprLists, request: SessionRequest
) -> RecommendationResponse:
    """``POST /v1/sessions/recommendations``: the live session first, then the shopper."""
    endpoint = "sessions"
    warnings: list[str] = []
    status = shopper_status(bundle, gdpr, request.user_id)
    if status is Shopper.opted_out:
        answer = _Answer(request.k, set())
        _popular(bundle, answer, ())
        return _response(bundle, answer, "popularity", [OPTED_OUT_WARNING], endpoint, "opted_out")
    if status is Shopper.unknown:
        warnings.append(UNKNOWN_USER_WARNING)
    events = _ordered(request, warnings)
    catalogue = bundle.catalogue
    unknown = sorted({p for p, _ in events if p not in catalogue})
    if unknown:
        warnings.append(_ignored(unknown, "unknown product ids"))
    session = [SessionItem(p, t) for p, t in events if p not in unknown]
    recent: list[int] = []
    never_again: set[int] = set()
    user_id = request.user_id
    if status is Shopper.known and user_id is not None:
        recent, never_again = _history(bundle, user_id)
    # as evaluated: the current (last) product is never next; bought products are not
    # offered again unless their category is a repeat-purchase one
    current = {session[-1].product_id} if session else set()
    answer = _Answer(request.k, set(never_again) | current)
    model = str(bundle.session_model["name"])
    if model != "popularity" and (session or recent):
        scored = recommend_for_session(
            session,
            bundle.neighbours,
            request.k,
            history=recent,
            exclude=answer.blocked,
            model=model,
            params=bundle.session_model.get("params") or None,
        )
        for item in scored:
            answer.add(item.product_id, item.score, _reason(bundle, item, session), item.source)
    if status is Shopper.known and user_id is not None:
        _embedding_fill(bundle, answer, user_id)
        _batch_fill(bundle, answer, user_id)
    latest = session[-1].product_id if session else None
    _popular(bundle, answer, _contexts(bundle, latest))
    why = {
        Shopper.anonymous: "anonymous",
        Shopper.unknown: "unknown_user",
        Shopper.known: "known_user",
    }[status]
    if not session:
        why = "no_known_products" if events else "empty_session"
    return _response(bundle, answer, model, warnings, endpoint, why)


def _reason(bundle: LoadedBundle, item, session: list[SessionItem]) -> str:
    anchor = item.source_product_id
    if anchor is None:
        return {
            "session": "Often viewed in sessions like this one",
            "history": "Because of your recent visits",
            "embedding": "Picked for you from your past visits",
        }.get(item.source, "Popular right now")
    described = bundle.catalogue.describe(anchor)
    if item.source == "history":
        return f"Because you viewed {described} recently"
    verb = next(
        (VERBS.get(s.event_type, "viewed") for s in reversed(session) if s.product_id == anchor),
        "viewed",
    )
    return f"Because you {verb} {described}"


def user_recommendations(
    bundle: LoadedBundle, gdpr: GdprLists, user_id: int, k: int
) -> RecommendationResponse:
    """``GET /v1/users/{user_id}/recommendations``: the nightly list, filled with popularity."""
    status = shopper_status(bundle, gdpr, user_id)
    warnings: list[str] = []
    answer = _Answer(k, set())
    if status is Shopper.known:
        _, never_again = _history(bundle, user_id)
        answer.blocked |= never_again
        _batch_fill(bundle, answer, user_id)
    elif status is Shopper.unknown:
        warnings.append(UNKNOWN_USER_WARNING)
    _popular(bundle, answer, ())
    why = {
        Shopper.unknown: "unknown_user",
        Shopper.opted_out: "opted_out",
        Shopper.known: "no_personal_list",
        Shopper.anonymous: "anonymous",
    }[status]
    return _response(bundle, answer, str(bundle.user_model["name"]), warnings, "users", why)


def similar_products(
    bundle: LoadedBundle, product_id: int, k: int, method: SimilarMethod
) -> SimilarResponse:
    """``GET /v1/products/{product_id}/similar``: from the build's similar products."""
    if product_id not in bundle.catalogue:
        raise UnknownProductError(
            f"product {product_id} is not in serving bundle {bundle.build_id}"
        )
    rows = bundle.similar[method.value]
    span = rows.span(product_id)
    items: list[SimilarItem] = []
    if span is not None:
        start, end = span
        columns = rows.columns
        for row in range(start, min(end, start + k)):
            items.append(
                SimilarItem(
                    product_id=int(columns["similar_product_id"][row]),
                    score=_finite(columns["score"][row]),
                    reason=columns["reason"][row],
                )
            )
    warnings = []
    if len(items) < k:
        count = len(items)
        warnings.append(
            f"only {count} product{'' if count == 1 else 's'} similar by {method.value} "
            f"known for this product (k={k})"
        )
    return SimilarResponse(
        product_id=product_id,
        method=method,
        items=items,
        build_id=bundle.build_id,
        warnings=warnings,
    )
