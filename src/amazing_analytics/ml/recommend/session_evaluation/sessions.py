"""The test sessions (int_session_evaluation_sequences) as flat arrays, a seeded sample of them,
and the slices their predictions are averaged over."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table, numeric_column
from amazing_analytics.ml.guards import require_columns

SEQUENCE_COLUMNS = (
    "session_id",
    "user_id",
    "position",
    "product_id",
    "event_type",
    "session_length",
    "is_returning_user",
)


#: Session length slices: (label, shortest, longest).
LENGTH_BUCKETS = (("2", 2, 2), ("3-4", 3, 4), ("5-9", 5, 9), ("10+", 10, 10**9))


@dataclass(frozen=True)
class TestSessions:
    """The (sampled) test sessions as flat arrays, sorted by session then position."""

    session_ids: np.ndarray  # per session
    user_ids: np.ndarray  # per session (-1 = unknown)
    is_returning: np.ndarray  # per session
    starts: np.ndarray  # offsets into products/event_types, length sessions + 1
    products: np.ndarray
    event_types: np.ndarray
    total_sessions: int  # before sampling

    @property
    def size(self) -> int:
        return int(self.session_ids.size)

    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)


def load_test_sessions(sequences: ArrowData, sample_sessions: int, seed: int) -> TestSessions:
    """The sequences table as arrays; a seeded sample of at most ``sample_sessions`` sessions."""
    table = as_table(sequences)
    require_columns(table, SEQUENCE_COLUMNS, "int_session_evaluation_sequences")
    table = table.sort_by([("session_id", "ascending"), ("position", "ascending")])
    sessions = np.asarray(
        pc.cast(table.column("session_id"), pa.string()).to_numpy(zero_copy_only=False), object
    )
    products = np.asarray(
        pc.cast(table.column("product_id"), pa.int64()).to_numpy(zero_copy_only=False), np.int64
    )
    types = np.asarray(
        pc.cast(table.column("event_type"), pa.string()).to_numpy(zero_copy_only=False), object
    )
    users = np.nan_to_num(numeric_column(table, "user_id"), nan=-1).astype(np.int64)
    returning = np.asarray(
        pc.fill_null(table.column("is_returning_user"), False).to_numpy(zero_copy_only=False), bool
    )
    first = np.flatnonzero(np.r_[True, sessions[1:] != sessions[:-1]]) if sessions.size else []
    first = np.asarray(first, np.int64)
    bounds = np.r_[first, sessions.size].astype(np.int64)
    total = int(first.size)
    chosen = np.arange(total)
    if total > sample_sessions:
        chosen = np.sort(np.random.default_rng(seed).choice(total, sample_sessions, replace=False))
    pieces = [np.arange(bounds[i], bounds[i + 1]) for i in chosen]
    rows = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
    lengths = bounds[chosen + 1] - bounds[chosen]
    return TestSessions(
        session_ids=sessions[first[chosen]] if total else np.zeros(0, object),
        user_ids=users[first[chosen]] if total else np.zeros(0, np.int64),
        is_returning=returning[first[chosen]] if total else np.zeros(0, bool),
        starts=np.r_[0, np.cumsum(lengths)].astype(np.int64),
        products=products[rows],
        event_types=types[rows],
        total_sessions=total,
    )


def session_sums(per_prediction: np.ndarray, sessions: TestSessions) -> np.ndarray:
    """Per session, the sum of a per-prediction array (predictions in session order)."""
    predictions = sessions.lengths() - 1
    bounds = np.r_[0, np.cumsum(predictions)][:-1]
    if per_prediction.size == 0:
        return np.zeros(sessions.size)
    return np.add.reduceat(np.asarray(per_prediction, np.float64), bounds)


def prediction_families(
    sessions: TestSessions, product_features: ArrowData | None
) -> np.ndarray | None:
    """The category family (first level of category_code, 'unknown' without one) of the item
    each prediction must find, predictions in session order; None without product features."""
    if product_features is None:
        return None
    features = as_table(product_features)
    if not {"product_id", "category_level_1"} <= set(features.column_names):
        return None
    family_of = dict(
        zip(
            pc.cast(features.column("product_id"), pa.int64()).to_pylist(),
            pc.fill_null(
                pc.cast(features.column("category_level_1"), pa.string()), "unknown"
            ).to_pylist(),
            strict=True,
        )
    )
    is_target = np.ones(sessions.products.size, bool)
    is_target[sessions.starts[:-1]] = False
    return np.array(
        [family_of.get(int(p), "unknown") for p in sessions.products[is_target]], dtype=object
    )


def session_slices(
    sessions: TestSessions, families: np.ndarray | None = None
) -> list[tuple[str, str, np.ndarray, np.ndarray | None]]:
    """(slice type, slice, session mask, per-prediction mask or None = all its predictions)."""
    out: list[tuple[str, str, np.ndarray, np.ndarray | None]] = [
        ("all", "all", np.ones(sessions.size, bool), None)
    ]
    lengths = sessions.lengths()
    for label, shortest, longest in LENGTH_BUCKETS:
        out.append(("session_length", label, (lengths >= shortest) & (lengths <= longest), None))
    out.append(("user_type", "returning", sessions.is_returning.copy(), None))
    out.append(("user_type", "new", ~sessions.is_returning, None))
    if families is not None:
        for family in sorted(set(families.tolist())):
            keep = families == family
            out.append(("category_family", family, session_sums(keep, sessions) > 0, keep))
    return out
