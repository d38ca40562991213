"""Bounds on the recommenders' cost (issue 14 §2, docs/scaling.md "Bounded ML").

Three bounds, each off when 0, each deterministic for a seed:

- ``window_days``: only the user x product pairs with an event in the last N days before the
  split's reference day (``days_since_last_event < N``) are trained on. A kept pair keeps its
  whole decayed weight; older pairs are dropped.
- ``max_training_rows``: at most N training rows (user x product pairs). Whole users are kept, in
  a seeded random order (numpy's PCG64 permutation of the sorted user ids, seed ``seed``); a
  user whose rows no longer fit is skipped, so the cap is never passed; the users given as ``priority`` (the evaluated test users,
  or nobody) come first, so that the users who are judged keep their history.
- ``eval_users``: the evaluation judges a seeded sample of at most N of the test users (the
  bootstrap intervals are computed on that sample), not all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table


@dataclass(frozen=True)
class TrainingBounds:
    """The three bounds (0 = off) and the seed of their samples."""

    window_days: int = 0
    max_training_rows: int = 0
    eval_users: int = 0
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("window_days", "max_training_rows", "eval_users"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"{name} must be a whole number >= 0 (0 = no bound), got {value!r}"
                )


NO_BOUNDS = TrainingBounds()


def _user_ids(table: pa.Table) -> np.ndarray:
    return np.asarray(pc.cast(table.column("user_id"), pa.int64()).to_numpy(zero_copy_only=False))


def sample_users(user_ids: np.ndarray, size: int, seed: int) -> np.ndarray:
    """At most ``size`` of the distinct ``user_ids`` (all when size is 0 or larger), chosen by a
    seeded permutation of the sorted ids, returned sorted."""
    users = np.unique(np.asarray(user_ids, np.int64))
    if size == 0 or users.size <= size:
        return users
    order = np.random.default_rng(seed).permutation(users.size)
    return np.sort(users[order[:size]])


def _window_mask(table: pa.Table, window_days: int) -> pa.Array | pa.ChunkedArray:
    """True for the rows inside the window (every row when there is none)."""
    if window_days == 0 or table.num_rows == 0:
        return pa.array(np.ones(table.num_rows, bool))
    if "days_since_last_event" not in table.column_names:
        raise ValueError("the interactions have no days_since_last_event column for window_days")
    days = pc.fill_null(table.column("days_since_last_event"), 10**9)
    return pc.less(days, window_days)


def _capped(table: pa.Table, max_rows: int, seed: int, priority: np.ndarray | None) -> pa.Table:
    if max_rows == 0 or table.num_rows <= max_rows:
        return table
    user_ids = _user_ids(table)
    users, counts = np.unique(user_ids, return_counts=True)
    order = np.random.default_rng(seed).permutation(users.size)
    if priority is not None and priority.size:
        first = np.isin(users[order], priority)
        order = np.concatenate([order[first], order[~first]])
    keep = np.zeros(users.size, bool)
    room = max_rows
    for position in order:  # a Python step per user: about a second per million users
        if counts[position] <= room:
            keep[position] = True
            room -= int(counts[position])
            if room == 0:
                break
    kept = users[keep]
    return table.filter(pa.array(np.isin(user_ids, kept)))


def bound_split(
    interactions: ArrowData,
    split: str,
    bounds: TrainingBounds,
    *,
    priority: np.ndarray | None = None,
) -> pa.Table:
    """The interactions with the rows of ``split`` cut by the window and the row cap; the
    other splits' rows are returned as they are."""
    table = as_table(interactions)
    if bounds.window_days == 0 and bounds.max_training_rows == 0:
        return table
    is_split = pc.fill_null(pc.equal(table.column("split"), split), False)
    # one filter for the split and the window: the split's rows are not copied whole first
    # (22M rows, 2 GB, at 30M events)
    rows = table.filter(pc.and_(is_split, _window_mask(table, bounds.window_days)))
    rest = table.filter(pc.invert(is_split))
    rows = _capped(rows, bounds.max_training_rows, bounds.seed, priority)
    return pa.concat_tables([rest, rows.cast(rest.schema)])


def bound_evaluation_interactions(interactions: ArrowData, bounds: TrainingBounds) -> pa.Table:
    """The evaluation's interactions under the bounds: a sample of the test users
    (evaluation_test rows of the others dropped), then the evaluation_train rows cut by the
    window and the cap, the sampled test users' histories first."""
    table = as_table(interactions)
    if bounds == TrainingBounds(seed=bounds.seed):
        return table
    is_test = pc.fill_null(pc.equal(table.column("split"), "evaluation_test"), False)
    test = table.filter(is_test)
    sampled = sample_users(_user_ids(test), bounds.eval_users, bounds.seed)
    test = test.filter(pa.array(np.isin(_user_ids(test), sampled)))
    rest = table.filter(pc.invert(is_test))
    kept = pa.concat_tables([rest, test.cast(rest.schema)])
    return bound_split(kept, "evaluation_train", bounds, priority=sampled)


def window_filter(split_condition: str, window_days: int, windowed_split: str) -> str:
    """A ``dbt.ref(...).filter()`` condition on int_interactions: ``split_condition`` and, with a
    window, only the pairs of ``windowed_split`` inside it (the window rule of
    :func:`bound_split`, applied by DuckDB so that pairs outside the window are never read into
    Python: at 30M events the recommenders' inputs were most of their 13.5 GB peak). The
    package functions apply the same window again, so the result does not depend on it."""
    if window_days < 0:
        raise ValueError(f"window_days must be >= 0, got {window_days}")
    if window_days == 0:
        return split_condition
    return (
        f"({split_condition}) and (split <> '{windowed_split}' "
        f"or coalesce(days_since_last_event, {10**9}) < {int(window_days)})"
    )
