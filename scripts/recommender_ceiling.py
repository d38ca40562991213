"""How much personalisation can win on the demo data: an oracle that knows each shopper's true
persona (from the generator's ground truth, which the warehouse never reads).

The generator draws a session's category from the shopper's persona and its products from a
popularity x price x brand choice model shared by the persona, so the best any recommender can
do from behaviour alone is roughly "popularity among shoppers of the same persona". This script
scores that oracle on the warehouse's own temporal split (interactions, evaluation_train ->
evaluation_test) with the same metric code as recommender_evaluation, next to global
popularity, and prints the ratio: the ceiling of the NDCG@10 gain over the popularity baseline.

    .venv/bin/python scripts/recommender_ceiling.py --warehouse warehouse/amazing.duckdb \
        --personas data/demo/ground_truth/user_personas.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.compute as pc

from amazing_analytics.ml.recommend import metrics
from amazing_analytics.ml.recommend.data import (
    build_catalogue,
    build_training_data,
    relevant_matrix,
)
from amazing_analytics.ml.recommend.topk import top_k_naive

K = 10


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, default=Path("warehouse/amazing.duckdb"))
    parser.add_argument(
        "--personas", type=Path, default=Path("data/demo/ground_truth/user_personas.csv")
    )
    args = parser.parse_args()
    for path in (args.warehouse, args.personas):
        if not path.exists():
            print(f"{path} not found: run `make demo` first", file=sys.stderr)
            return 2
    with duckdb.connect(str(args.warehouse), read_only=True) as con:
        interactions = con.sql("select * from intermediate.int_interactions").arrow().read_all()
        features = (
            con.sql("select * from intermediate.int_recommender_product_features")
            .arrow()
            .read_all()
        )
        personas = con.sql(
            f"select user_id, persona from read_csv('{args.personas}') order by user_id"
        ).fetchnumpy()
    catalogue = build_catalogue(features)
    test = interactions.filter(pc.equal(interactions.column("split"), "evaluation_test"))
    test_users = np.unique(test.column("user_id").to_numpy())
    train = build_training_data(
        interactions, catalogue, None, "evaluation_train", extra_user_ids=test_users
    )
    rows = train.user_index(test_users)
    relevant = relevant_matrix(interactions, catalogue, train.user_ids, "evaluation_test")[rows]
    exclude = train.exclusions()[rows]

    ids = personas["user_id"].astype(np.int64)
    names = np.asarray(personas["persona"]).astype(str)
    pos = np.searchsorted(ids, train.user_ids).clip(0, ids.size - 1)
    persona = np.where(ids[pos] == train.user_ids, names[pos], "unknown")

    def ndcg(scores: np.ndarray) -> float:
        items, _ = top_k_naive(scores, K, exclude=exclude)
        return float(np.nanmean(metrics.user_metrics(items, relevant, K).ndcg))

    popularity = np.asarray(train.weights.sum(axis=0)).ravel()
    baseline = ndcg(np.broadcast_to(popularity, (rows.size, popularity.size)))
    oracle_scores = np.empty((rows.size, popularity.size))
    for name in np.unique(persona):
        within = np.asarray(train.weights[persona == name].sum(axis=0)).ravel()
        oracle_scores[persona[rows] == name] = within
    oracle = ndcg(oracle_scores)
    print(f"test users: {rows.size:,}; products: {catalogue.size:,}")
    print(f"NDCG@{K} global popularity:                 {baseline:.4f}")
    print(f"NDCG@{K} popularity within the true persona: {oracle:.4f}")
    print(f"ceiling of the gain over popularity:         {oracle / baseline:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
