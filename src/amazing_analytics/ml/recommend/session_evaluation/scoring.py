"""Asking a session model for every prediction of the test sessions, and the metrics of its
answers (HR, NDCG and MRR from the truth's rank), summed per session."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from amazing_analytics.ml.recommend.session import (
    NeighbourIndex,
    SessionItem,
    model_params,
    popular_fill,
    recommended_ids,
)
from amazing_analytics.ml.recommend.session_evaluation.sessions import TestSessions, session_sums

SESSION_METRICS = ("hit_rate", "ndcg", "mrr")


def session_ranks(
    sessions: TestSessions,
    index: NeighbourIndex,
    popular: np.ndarray,
    histories: Mapping[int, list[int]],
    k: int,
    model: str,
    params: Mapping[str, float],
) -> tuple[np.ndarray, float]:
    """The truth's 1-based rank (0 = not in the k) for every prediction, sessions in order,
    and the mean milliseconds per list (scoring and fill)."""
    ranks = np.zeros(int(sessions.products.size - sessions.size), np.int32)
    out = 0
    started = time.perf_counter()
    settings = model_params(model, params)
    popular_list = popular[: 2 * k + 1].tolist()
    for s in range(sessions.size):
        lo, hi = sessions.starts[s], sessions.starts[s + 1]
        items = [
            SessionItem(int(p), str(t))
            for p, t in zip(sessions.products[lo:hi], sessions.event_types[lo:hi], strict=True)
        ]
        history = histories.get(int(sessions.user_ids[s]), ()) if sessions.is_returning[s] else ()
        for t in range(1, len(items)):
            # the list recommend_for_session and fill_with_popular give, as product ids
            recs = recommended_ids(items[:t], index, k, history, model, settings)
            last = (items[t - 1].product_id,)
            recs += [popular_list[p] for p in popular_fill(recs, popular_list, k, last)]
            truth = items[t].product_id
            if truth in recs:
                ranks[out] = recs.index(truth) + 1
            out += 1
    seconds = time.perf_counter() - started
    return ranks, 1000.0 * seconds / max(out, 1)


def per_session_metrics(
    ranks: np.ndarray, sessions: TestSessions, keep: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per session, the summed metric over its predictions (only those in ``keep``, a
    per-prediction mask, when given)."""
    hit = (ranks > 0).astype(np.float64)
    safe = np.where(ranks > 0, ranks, 1).astype(np.float64)
    values = {
        "hit_rate": hit,
        "ndcg": np.where(ranks > 0, 1.0 / np.log2(safe + 1.0), 0.0),
        "mrr": np.where(ranks > 0, 1.0 / safe, 0.0),
    }
    if keep is not None:
        values = {name: np.where(keep, v, 0.0) for name, v in values.items()}
    return {name: session_sums(v, sessions) for name, v in values.items()}
