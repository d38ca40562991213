"""The propensity model's cost bounds (issue 14 §2): stratified row cap, active-only scoring."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from amazing_analytics.ml.snapshot_bounds import active_snapshot, cap_snapshot


def _snapshots() -> pa.Table:
    # final_train: 100 customers, every 5th a buyer (20 %); score: 10 customers aged 0..90 days
    rows = [("final_train", user, user % 5 == 0, user) for user in range(100)]
    rows += [("score", 1000 + n, None, 10 * n) for n in range(10)]
    snapshot, user, label, days = zip(*rows, strict=True)
    return pa.table(
        {
            "snapshot": list(snapshot),
            "user_id": pa.array(user, pa.int64()),
            "label": pa.array(label, pa.bool_()),
            "days_since_last_event": pa.array(days, pa.int64()),
        }
    )


def _rows(table: pa.Table, snapshot: str) -> pa.Table:
    return table.filter(pc.equal(table.column("snapshot"), snapshot))


def test_the_cap_keeps_the_label_share_and_the_other_snapshots() -> None:
    capped = cap_snapshot(_snapshots(), "final_train", 30, seed=1)
    train = _rows(capped, "final_train")
    assert train.num_rows == 30
    assert pc.sum(pc.cast(train.column("label"), pa.int64())).as_py() == 6  # 20 % of 30
    assert _rows(capped, "score").equals(_rows(_snapshots(), "score"))
    assert cap_snapshot(_snapshots(), "final_train", 30, seed=1).equals(capped)
    assert not cap_snapshot(_snapshots(), "final_train", 30, seed=2).equals(capped)


def test_no_cap_or_a_cap_above_the_rows_changes_nothing() -> None:
    assert cap_snapshot(_snapshots(), "final_train", 0, seed=1).equals(_snapshots())
    assert cap_snapshot(_snapshots(), "final_train", 500, seed=1).equals(_snapshots())


def test_only_active_customers_are_scored() -> None:
    active = active_snapshot(_snapshots(), "score", 30)
    assert _rows(active, "score").column("user_id").to_pylist() == [1000, 1001, 1002, 1003]
    assert _rows(active, "final_train").num_rows == 100
    assert active_snapshot(_snapshots(), "score", 0).equals(_snapshots())


def test_bad_bounds_and_tables_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="max_rows must be a whole number"):
        cap_snapshot(_snapshots(), "final_train", -5, seed=1)
    with pytest.raises(ValueError, match="no 'snapshot' column"):
        cap_snapshot(_snapshots().drop_columns(["snapshot"]), "final_train", 5, seed=1)
    with pytest.raises(ValueError, match="days_since_last_event"):
        active_snapshot(_snapshots().drop_columns(["days_since_last_event"]), "score", 5)
