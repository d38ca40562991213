"""The next products for a live session: :func:`recommend_for_session` (every session model;
on the API's hot path) and :func:`fill_with_popular`, the popularity fill its callers apply.
Both share their work with the evaluation's :func:`recommended_ids` and :func:`popular_fill`,
which give the same lists as product ids."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from amazing_analytics.ml.recommend.session.items import (
    EVENT_TYPES,
    ScoredItem,
    SessionInputError,
    SessionItem,
)
from amazing_analytics.ml.recommend.session.neighbour_index import NeighbourIndex
from amazing_analytics.ml.recommend.session.params import (
    DEFAULT_MODEL,
    UNWEIGHTED_EVENTS,
    model_params,
)
from amazing_analytics.ml.recommend.session.votes import (
    EMBEDDING_VOTE,
    SESSION_VOTE,
    SessionVotes,
    session_weights,
)


def recommend_for_session(
    session: Sequence[SessionItem],
    neighbours: NeighbourIndex,
    k: int,
    *,
    history: Sequence[int] = (),
    exclude: Collection[int] = (),
    model: str = DEFAULT_MODEL,
    params: Mapping[str, float] | None = None,
) -> list[ScoredItem]:
    """Up to k products for a live session (time order, oldest first), best first.

    ``history``: the known shopper's recently viewed-not-bought products, newest first (only
    ``vsknn_history`` and ``hybrid`` use it). ``exclude``: never returned. Popularity fill is the caller's:
    fewer than k items (none for ``popularity``, an unknown last product) are returned as is.
    Ties are broken by product id, so the same input always gives the same list.
    """
    if k < 0:
        raise SessionInputError(f"k must be >= 0, got {k}")
    settings = model_params(model, params)
    if model == "popularity" or k == 0:
        return []
    votes, banned = session_votes(session, neighbours, history, exclude, model, settings)
    return votes.ranked(k, banned)


def recommended_ids(
    session: Sequence[SessionItem],
    neighbours: NeighbourIndex,
    k: int,
    history: Sequence[int],
    model: str,
    settings: Mapping[str, float],
) -> list[int]:
    """The product ids :func:`recommend_for_session` returns (no exclusions), from the model's
    resolved ``settings`` (:func:`model_params`): the evaluation's call, which needs the list
    only, for every prediction of its test sessions."""
    if k < 0:
        raise SessionInputError(f"k must be >= 0, got {k}")
    if model == "popularity" or k == 0:
        return []
    votes, banned = session_votes(session, neighbours, history, (), model, settings)
    return votes.top_ids(k, banned)


def session_votes(
    session: Sequence[SessionItem],
    neighbours: NeighbourIndex,
    history: Sequence[int],
    exclude: Collection[int],
    model: str,
    settings: Mapping[str, float],
) -> tuple[SessionVotes, set[int]]:
    """The votes a session model casts for a session (``settings``: the model's resolved
    params), and the products it never returns (``exclude`` and the session's last product)."""
    votes = SessionVotes()
    if model == "covisitation":
        for item in reversed(session):
            if item.event_type not in EVENT_TYPES:
                raise SessionInputError(f"unknown event_type {item.event_type!r}")
            if item.event_type != "remove_from_cart":
                ids, scores = neighbours.normalised_neighbours(item.product_id, "session")
                votes.add(ids, scores, int(item.product_id), SESSION_VOTE)
                break
    else:
        source, label = (
            ("embedding", EMBEDDING_VOTE) if model == "embedding" else ("session", SESSION_VOTE)
        )
        weighted = session_weights(
            session,
            settings if model != "sknn" else UNWEIGHTED_EVENTS,
            decay=model != "sknn",
        )
        for product_id, weight in weighted.items():
            ids, scores = neighbours.normalised_neighbours(product_id, source)
            votes.add(ids, scores * weight, product_id, label)
            if model == "hybrid":
                ids, scores = neighbours.normalised_neighbours(product_id, "embedding")
                embedding_weight = weight * settings["embedding_weight"]
                votes.add(ids, scores * embedding_weight, product_id, EMBEDDING_VOTE)
        if model in ("vsknn_history", "hybrid") and history:
            top = max(weighted.values()) if weighted else 1.0
            votes.add_history(history, neighbours, top, settings)
    banned = {int(p) for p in exclude}
    if session:
        banned.add(int(session[-1].product_id))
    return votes, banned


def fill_with_popular(
    items: Sequence[ScoredItem],
    popular_ids: Sequence[int],
    k: int,
    *,
    exclude: Collection[int] = (),
    popular_scores: Sequence[float] | None = None,
) -> list[ScoredItem]:
    """``items`` completed to k with the popular products (most popular first) that are not
    already in the list nor in ``exclude`` (source 'popularity')."""
    out = list(items[:k])
    taken = [i.product_id for i in out]
    for position in popular_fill(taken, popular_ids, k, exclude):
        score = float(popular_scores[position]) if popular_scores is not None else 0.0
        out.append(ScoredItem(int(popular_ids[position]), score, None, "popularity"))
    return out


def popular_fill(
    taken: Sequence[int], popular_ids: Sequence[int], k: int, exclude: Collection[int] = ()
) -> list[int]:
    """The positions in ``popular_ids`` (most popular first) of the products that complete
    ``taken`` (a list's product ids) to k, skipping those already taken or in ``exclude``: the
    fill of :func:`fill_with_popular`, as positions."""
    room = k - len(taken)
    if room <= 0:
        return []
    seen = {int(p) for p in taken} | {int(p) for p in exclude}
    out: list[int] = []
    for position, product_id in enumerate(popular_ids):
        product_id = int(product_id)
        if product_id in seen:
            continue
        out.append(position)
        seen.add(product_id)
        if len(out) == room:
            break
    return out
