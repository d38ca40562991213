"""Bounds on the propensity model's cost (issue 14 §2, docs/scaling.md "Bounded ML").

The propensity snapshots (int_customer_propensity_snapshots) hold one row per customer and
snapshot. Two bounds, each off when 0, deterministic for a seed:

- ``cap_snapshot``: at most N rows of one snapshot (the training rows of propensity_model or of
  the evaluation, or the evaluation's test customers), a seeded sample stratified by the label:
  each label keeps its share of the rows (rounded down, at least one row per label present), so
  the buyers' base rate, which the calibration and the lift depend on, is unchanged.
- ``active_snapshot``: only the customers of one snapshot whose last event is at most N days
  before its as_of_date (days_since_last_event <= N): scoring shoppers active in the serving
  window, not every customer ever seen.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amazing_analytics.ml.arrow_utils import ArrowData, as_table


def _check(value: int, name: str) -> None:
    if not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0 (0 = no bound), got {value!r}")


def _split(table: pa.Table, snapshot: str) -> tuple[pa.Table, pa.Table]:
    if "snapshot" not in table.column_names:
        raise ValueError("the propensity snapshots have no 'snapshot' column")
    mine = pc.fill_null(pc.equal(table.column("snapshot"), snapshot), False)
    return table.filter(mine), table.filter(pc.invert(mine))


def cap_snapshot(snapshots: ArrowData, snapshot: str, max_rows: int, seed: int) -> pa.Table:
    """The snapshots with at most ``max_rows`` rows of ``snapshot`` (0 = all), a seeded sample
    stratified by ``label`` (rows ordered by user_id before the seeded permutation)."""
    _check(max_rows, "max_rows")
    table = as_table(snapshots)
    rows, rest = _split(table, snapshot)
    if max_rows == 0 or rows.num_rows <= max_rows:
        return table
    rows = rows.sort_by("user_id")
    labels = np.asarray(
        pc.cast(pc.fill_null(rows.column("label"), False), pa.int8()).to_numpy(zero_copy_only=False)
    )
    rng = np.random.default_rng(seed)
    keep: list[np.ndarray] = []
    for value in np.unique(labels):
        positions = np.flatnonzero(labels == value)
        share = max(1, int(max_rows * positions.size / rows.num_rows))
        keep.append(positions[rng.permutation(positions.size)[:share]])
    kept = rows.take(pa.array(np.sort(np.concatenate(keep))))
    return pa.concat_tables([rest, kept])


def active_snapshot(snapshots: ArrowData, snapshot: str, active_days: int) -> pa.Table:
    """The snapshots with only the customers of ``snapshot`` whose last event is at most
    ``active_days`` days old (0 = everybody)."""
    _check(active_days, "active_days")
    table = as_table(snapshots)
    if active_days == 0:
        return table
    rows, rest = _split(table, snapshot)
    if "days_since_last_event" not in rows.column_names:
        raise ValueError("the propensity snapshots have no days_since_last_event column")
    days = pc.fill_null(rows.column("days_since_last_event"), 10**9)
    return pa.concat_tables([rest, rows.filter(pc.less_equal(days, active_days))])
