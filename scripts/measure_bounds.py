"""The quality cost of each ML bound (issue 14 §2), on a built warehouse. A measurement, not a test.

    .venv/bin/python scripts/measure_bounds.py --warehouse bench/scale/warehouse-1000000/amazing.duckdb

Reads the recommenders' and the propensity model's inputs from the warehouse and runs the same
package functions as recommender_evaluation and propensity_evaluation, once without bounds and
once per bound at two sizes, printing the headline metric (recommenders: the selected-by-evidence
metric ndcg@k of every model on all users; propensity: AUC and the top-decile lift) and the
seconds of each run. Writes the rows as JSON beside the warehouse (bounds.json).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import pyarrow.compute as pc

from amazing_analytics.ml.propensity import build_evaluation as propensity_evaluation
from amazing_analytics.ml.recommend.bounds import TrainingBounds
from amazing_analytics.ml.recommend.build import build_evaluation, lightfm_params
from amazing_analytics.ml.snapshot_bounds import cap_snapshot


def _interactions(con: duckdb.DuckDBPyConnection) -> str:
    """intermediate.int_interactions (after the rename of issue 10), else .interactions."""
    tables = {name for (name,) in con.sql("select table_name from duckdb_tables()").fetchall()}
    return "intermediate." + (
        "int_interactions" if "int_interactions" in tables else "interactions"
    )


def _labels(con: duckdb.DuckDBPyConnection) -> list:
    """The slice labels: customer_segments when the warehouse has it, and customer_features."""
    tables = {name for (name,) in con.sql("select table_name from duckdb_tables()").fetchall()}
    names = [name for name in ("customer_segments", "customer_features") if name in tables]
    return [con.sql(f"select * from marts.{name}").to_arrow_table() for name in names]


def _recommenders(con: duckdb.DuckDBPyConnection, bounds: TrainingBounds, samples: int) -> dict:
    interactions = con.sql(
        f"select * from {_interactions(con)} where split <> 'serving'"
    ).to_arrow_table()
    started = time.perf_counter()
    table = build_evaluation(
        interactions,
        con.sql("select * from intermediate.int_recommender_product_features").to_arrow_table(),
        con.sql(
            "select * from intermediate.int_product_cooccurrence where split = 'evaluation_train'"
        ).to_arrow_table(),
        _labels(con),
        k=10,
        seed=42,
        params=lightfm_params(
            components=16, epochs=3, learning_rate=0.05, item_alpha=1e-6, threads=1
        ),
        min_test_users=200,
        bootstrap_samples=samples,
        bounds=bounds,
    )
    seconds = time.perf_counter() - started
    rows = table.filter(
        pc.and_(
            pc.equal(table.column("slice_type"), "all"), pc.equal(table.column("metric"), "ndcg")
        )
    ).to_pylist()
    return {
        "seconds": round(seconds, 1),
        "ndcg": {
            row["model"]: [
                round(row["value"], 4),
                round(row.get("ci_low") or 0, 4),
                round(row.get("ci_high") or 0, 4),
                row["user_count"],
            ]
            for row in rows
            if row["value"] is not None
        },
        "selected": sorted({row["model"] for row in table.to_pylist() if row["is_selected"]}),
    }


def _propensity(con: duckdb.DuckDBPyConnection, train_rows: int, test_rows: int) -> dict:
    snapshots = con.sql(
        "select * from intermediate.int_customer_propensity_snapshots"
    ).to_arrow_table()
    snapshots = cap_snapshot(snapshots, "evaluation_train", train_rows, 42)
    snapshots = cap_snapshot(snapshots, "final_train", test_rows, 42)
    started = time.perf_counter()
    table = propensity_evaluation(snapshots, seed=42, horizon_days=30)
    seconds = time.perf_counter() - started
    values = {(row["metric"], row["segment"]): row["value"] for row in table.to_pylist()}
    return {
        "seconds": round(seconds, 1),
        "auc": values.get(("auc", "all")),
        "lift_top_decile": values.get(("lift_at_top_decile", "top_decile")),
        "n_test": max(
            (row["n"] or 0 for row in table.to_pylist() if row["metric"] == "auc"), default=0
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args()
    con = duckdb.connect(str(args.warehouse), read_only=True)
    train_pairs = con.sql(
        f"select count(*) from {_interactions(con)} where split = 'evaluation_train'"
    ).fetchall()[0][0]
    test_users = con.sql(
        f"select count(distinct user_id) from {_interactions(con)} where split = 'evaluation_test'"
    ).fetchall()[0][0]
    final_rows = con.sql(
        "select count(*) from intermediate.int_customer_propensity_snapshots where snapshot = 'evaluation_train'"
    ).fetchall()[0][0]
    print(
        f"training pairs {train_pairs:,}, test users {test_users:,}, propensity training rows {final_rows:,}"
    )
    runs: list[dict] = []
    recommender_runs = [
        ("none", TrainingBounds()),
        ("window 60 days", TrainingBounds(window_days=60)),
        ("window 30 days", TrainingBounds(window_days=30)),
        (f"rows {train_pairs // 2:,}", TrainingBounds(max_training_rows=train_pairs // 2)),
        (f"rows {train_pairs // 4:,}", TrainingBounds(max_training_rows=train_pairs // 4)),
        (f"test users {test_users // 2:,}", TrainingBounds(eval_users=test_users // 2)),
        (f"test users {test_users // 4:,}", TrainingBounds(eval_users=test_users // 4)),
    ]
    for label, bounds in recommender_runs:
        result = _recommenders(con, bounds, args.bootstrap)
        runs.append({"model": "recommenders", "bound": label, **result})
        print("recommenders", label, json.dumps(result), flush=True)
    for label, train_rows, test_rows in (
        ("none", 0, 0),
        (f"training rows {final_rows // 2:,}", final_rows // 2, 0),
        (f"training rows {final_rows // 4:,}", final_rows // 4, 0),
        (f"test customers {final_rows // 2:,}", 0, final_rows // 2),
        (f"test customers {final_rows // 4:,}", 0, final_rows // 4),
    ):
        result = _propensity(con, train_rows, test_rows)
        runs.append({"model": "propensity", "bound": label, **result})
        print("propensity", label, json.dumps(result), flush=True)
    out = args.warehouse.parent / "bounds.json"
    out.write_text(json.dumps(runs, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
