"""The simulated cold start: can a model surface products nobody interacted with? A seeded
share of the products with training interactions is hidden from training, every model is
refitted without them, and each ranks only the hidden products for the users who engaged with
one in the test window."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from amazing_analytics.ml.arrow_utils import ArrowData
from amazing_analytics.ml.recommend.data import TrainingData
from amazing_analytics.ml.recommend.evaluation.stored import COLD_START_FIT, stored_lightfm
from amazing_analytics.ml.recommend.evaluation.table import EvaluationSetup, slice_rows
from amazing_analytics.ml.recommend.models import make_model
from amazing_analytics.ml.recommend.selection import Resamples
from amazing_analytics.ml.recommend.topk import top_k_dense

#: Share of the products with training interactions hidden for the simulated cold-start slice.
COLD_START_SHARE = 0.1
COLD_START_SIMULATED = "simulated new products"
#: Users scored at once when ranking the hidden products.
_CHUNK_USERS = 2_000


def _keep_entries(
    matrix: sp.csr_matrix, keep_columns: np.ndarray, square: bool = False
) -> sp.csr_matrix:
    """``matrix`` without the entries in dropped columns (and rows, when ``square``)."""
    coo = sp.coo_matrix(matrix)
    ok = keep_columns[coo.col] & (keep_columns[coo.row] if square else True)
    return sp.csr_matrix(
        (coo.data[ok], (coo.row[ok], coo.col[ok])), shape=matrix.shape, dtype=matrix.dtype
    )


def hide_products(data: TrainingData, hidden: np.ndarray) -> TrainingData:
    """``data`` as if the ``hidden`` products (bool mask) had never been interacted with."""
    keep = ~hidden
    return replace(
        data,
        weights=_keep_entries(data.weights, keep),
        strongest=_keep_entries(data.strongest, keep),
        bought=_keep_entries(data.bought, keep),
        cooccurrence=_keep_entries(data.cooccurrence, keep, square=True),
        bought_together=_keep_entries(data.bought_together, keep, square=True),
        recency=None if data.recency is None else _keep_entries(data.recency, keep),
    )


@dataclass(frozen=True)
class ColdStartSetup:
    """The simulated cold start's inputs, prepared from the evaluation's: the training data
    without the hidden products, the hidden products, the test users who engaged with one
    (their rows and relevant hidden products) and the seeded resamples of those users."""

    setup: EvaluationSetup
    reduced: TrainingData
    candidates: np.ndarray
    user_rows: np.ndarray
    relevant: sp.csr_matrix
    draws: Resamples


def hidden_products(train: TrainingData, seed: int) -> np.ndarray | None:
    """The products hidden from the refits (a bool mask over the catalogue): a seeded
    :data:`COLD_START_SHARE` of those with training interactions; None when none can be."""
    known = np.flatnonzero(train.users_per_item() > 0)
    n_hidden = int(round(COLD_START_SHARE * known.size))
    if n_hidden == 0:
        return None
    hidden = np.zeros(train.catalogue.size, bool)
    hidden[np.random.default_rng(seed).choice(known, n_hidden, replace=False)] = True
    return hidden


def prepare_cold_start(setup: EvaluationSetup, bootstrap_samples: int) -> ColdStartSetup | None:
    """Hide a seeded share of the products with training interactions (None: there are none).

    Everything the refits share with the rest of the evaluation is read here, so that
    :func:`run_cold_start` touches only its own copies and can run beside the other models."""
    hidden = hidden_products(setup.train, setup.seed)
    if hidden is None:
        return None
    cold_relevant = sp.csr_matrix(setup.relevant.multiply(hidden[None, :].astype(np.float32)))
    cold_relevant.eliminate_zeros()
    users = np.diff(cold_relevant.indptr) > 0
    return ColdStartSetup(
        setup=setup,
        reduced=hide_products(setup.train, hidden),
        candidates=np.flatnonzero(hidden),
        user_rows=setup.rows[users],
        relevant=cold_relevant[users],
        draws=Resamples.draw(int(users.sum()), bootstrap_samples, setup.seed),
    )


def run_cold_start(
    cold: ColdStartSetup | None,
    models: tuple[str, ...],
    lightfm_embeddings: ArrowData | None = None,
) -> list[dict]:
    """Refit every model on the reduced data; score only the hidden products (no rows when
    no product could be hidden). LightFM's refit is the ``cold_start`` fit of
    ``lightfm_embeddings`` when given (stored by recommender_evaluation_embeddings)."""
    out: list[dict] = []
    if cold is None:
        return out
    for name in models:
        if name == "lightfm" and lightfm_embeddings is not None:
            model, _ = stored_lightfm(
                lightfm_embeddings, cold.reduced, cold.user_rows, cold.setup.seed, COLD_START_FIT
            )
        else:
            model = make_model(name, cold.setup.params).fit(cold.reduced, cold.setup.seed)
        items = _rank_hidden(model, cold.user_rows, cold.candidates, cold.setup.k)
        rows, _ = slice_rows(
            name,
            "cold_start_products",
            COLD_START_SIMULATED,
            items,
            cold.relevant,
            cold.draws,
            cold.setup,
        )
        out += rows
    return out


def _rank_hidden(model, user_rows: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """Each user's top ``k`` of the ``candidates`` (product indices; -1 pads a short list)."""
    lists = []
    for start in range(0, user_rows.size, _CHUNK_USERS):
        chunk = user_rows[start : start + _CHUNK_USERS]
        local, _ = top_k_dense(model.scores_for(chunk, candidates), k)
        lists.append(np.where(local >= 0, candidates[local.clip(0)], -1))
    return np.vstack(lists) if lists else np.zeros((0, k), np.int64)
