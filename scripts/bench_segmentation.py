"""Benchmark: customer segmentation on synthetic customers (no warehouse needed).

    .venv/bin/python scripts/bench_segmentation.py --customers 1000000

Builds a ``customer_features``-like pyarrow table (eight personas, heavy-tailed activity, ~10 % buyers,
revenue as decimal(14,2) so the cast path is exercised), then times the feature matrix (prepare), choose_k
(k 3..8 on the default 20,000-row sample), fit_segments and assign_segments separately and in
total, and prints the peak RSS of the process. Target: total < 30 s on 2 cores at 1M customers.
Not a test: the figures go into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from amazing_analytics.bench import StepTimer, peak_rss_gb
from amazing_analytics.ml.segmentation import (
    CATEGORY_FAMILIES,
    action_copy_from_table,
    assign_segments,
    choose_k,
    family_labels_from_table,
    fit_segments,
)
from amazing_analytics.ml.segmentation.features import prepare

#: The seeds the dbt model passes in: the marketing copy and the family words.
SEEDS = Path(__file__).resolve().parents[1] / "seeds"

#: Days covered by the synthetic history (as of its last day).
SPAN_DAYS = 152


#: Personas of the synthetic population: (name, share, activity, views per session, carts per
#: session, buys, orders, price level, recency) - activity, views and price are log-normal
#: medians; buyers' orders are 1 + Poisson(orders * activity); recency is the mean of an
#: exponential, capped at the span. About 10 % of the customers buy.
PERSONAS = (
    ("casual visitor", 0.40, 0.6, 3.0, 0.00, False, 0.0, 1.0, 40.0),
    ("window shopper", 0.22, 2.5, 9.0, 0.02, False, 0.0, 1.3, 25.0),
    ("cart abandoner", 0.10, 1.5, 6.0, 0.50, False, 0.0, 1.0, 20.0),
    ("lapsed browser", 0.18, 0.8, 4.0, 0.05, False, 0.0, 1.0, 120.0),
    ("loyal buyer", 0.015, 6.0, 8.0, 0.60, True, 2.5, 1.2, 8.0),
    ("bargain hunter", 0.03, 2.5, 10.0, 0.50, True, 0.8, 0.35, 20.0),
    ("occasional buyer", 0.04, 1.5, 6.0, 0.40, True, 0.2, 1.0, 30.0),
    ("lapsed buyer", 0.015, 1.5, 6.0, 0.40, True, 0.3, 1.0, 125.0),
)


def synthetic_customers(n: int, seed: int = 7) -> pa.Table:
    """``n`` customers with the customer_features columns, drawn from :data:`PERSONAS`."""
    rng = np.random.default_rng(seed)
    shares = np.array([p[1] for p in PERSONAS])
    persona = rng.choice(len(PERSONAS), size=n, p=shares / shares.sum())

    def per(index: int) -> np.ndarray:
        return np.array([p[index] for p in PERSONAS], dtype=np.float64)[persona]

    buyer = per(5).astype(bool)
    activity = per(2) * rng.lognormal(0.0, 0.8, n)  # heavy-tailed individual multiplier
    sessions = 1 + rng.poisson(activity)
    views = sessions + rng.poisson(sessions * per(3) * rng.lognormal(0.0, 0.5, n))
    orders = np.where(buyer, np.minimum(1 + rng.poisson(per(6) * activity), sessions), 0)
    carted_sessions = np.minimum(sessions, orders + rng.binomial(sessions, per(4)))
    carts = carted_sessions + rng.poisson(0.5 * carted_sessions)
    with np.errstate(invalid="ignore", divide="ignore"):
        abandonment = np.where(
            carted_sessions > 0, (carted_sessions - orders) / carted_sessions, np.nan
        )
    median_price = np.round(100.0 * per(7) * rng.lognormal(0.0, 0.7, n), 2)
    basket = np.round(median_price * rng.lognormal(0.2, 0.5, n), 2)
    revenue = np.where(buyer, np.round(orders * basket, 2), 0.0)
    days_active = 1 + rng.binomial(sessions - 1, 0.7)
    recency = np.minimum(rng.exponential(per(8)), SPAN_DAYS - 1).astype(np.int64)
    tenure = np.minimum(recency + days_active - 1 + rng.integers(0, 30, n), SPAN_DAYS - 1) - recency
    no_views = rng.random(n) < 0.01  # a few visitors never viewed a priced product
    # taste: each persona leans to one family (a Dirichlet around it), prices follow its level
    lean = np.eye(len(CATEGORY_FAMILIES))[persona % len(CATEGORY_FAMILIES)] * 4.0 + 0.5
    shares = rng.gamma(lean)
    shares /= shares.sum(axis=1, keepdims=True)
    price_index = np.round(per(7) * rng.lognormal(0.0, 0.3, n), 4)
    taste = {
        f"family_share_{family}": pa.array(
            np.where(no_views, np.nan, shares[:, i]), from_pandas=True
        )
        for i, family in enumerate(CATEGORY_FAMILIES)
    }
    return pa.table(
        {
            **taste,
            "price_index": pa.array(np.where(no_views, np.nan, price_index), from_pandas=True),
            "brand_loyalty": pa.array(np.round(rng.beta(2.0, 3.0, n), 4)),
            "in_house_brand_share": pa.array(np.round(rng.beta(1.0, 8.0, n) / per(7) ** 0.5, 4)),
            "event_count": pa.array((views + carts + orders).astype(np.int64)),
            "user_id": pa.array(rng.permutation(n).astype(np.int64) + 500_000_000),
            "session_count": pa.array(sessions.astype(np.int64)),
            "view_count": pa.array(views.astype(np.int64)),
            "cart_count": pa.array(carts.astype(np.int64)),
            "order_count": pa.array(orders.astype(np.int64)),
            "revenue": pa.array(revenue).cast(pa.decimal128(14, 2), safe=False),
            "average_basket": pa.array(np.where(buyer, basket, np.nan), from_pandas=True),
            "cart_abandonment_rate": pa.array(abandonment, from_pandas=True),
            "conversion_rate": pa.array(orders / sessions),
            "days_active": pa.array(days_active.astype(np.int64)),
            "tenure_days": pa.array(tenure.astype(np.int64)),
            "recency_days": pa.array(recency),
            "median_viewed_price": pa.array(
                np.where(no_views, np.nan, median_price), from_pandas=True
            ),
            "is_buyer": pa.array(orders > 0),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--k-min", type=int, default=3)
    parser.add_argument("--k-max", type=int, default=8)
    args = parser.parse_args()

    start = time.perf_counter()
    features = synthetic_customers(args.customers)
    print(
        f"built {features.num_rows:,} synthetic customers in {time.perf_counter() - start:.1f} s "
        f"({pa.compute.mean(features['is_buyer'].cast(pa.float64())).as_py():.1%} buyers)"
    )

    timer = StepTimer()
    with timer.step("feature_matrix"):
        prepared = prepare(features)
    # as the build does: fitted and scored on the visitors with enough views
    with timer.step(f"choose_k (k {args.k_min}..{args.k_max})"):
        selection = choose_k(
            prepared.scaled, args.k_min, args.k_max, args.seed, fit_rows=prepared.fit_rows
        )
    with timer.step(f"fit_segments (k={selection.chosen_k})"):
        model = fit_segments(
            features,
            selection.chosen_k,
            args.seed,
            action_copy=action_copy_from_table(pacsv.read_csv(SEEDS / "segment_actions.csv")),
            family_labels=family_labels_from_table(pacsv.read_csv(SEEDS / "category_families.csv")),
        )
    with timer.step("assign_segments"):
        assigned = assign_segments(features, model)

    print("\nk   silhouette  davies_bouldin  inertia")
    for row in selection.rows:
        mark = "  <- chosen" if row.k == selection.chosen_k else ""
        print(
            f"{row.k:<3} {row.silhouette:10.4f}  {row.davies_bouldin:14.4f}  "
            f"{row.inertia:12.1f}{mark}"
        )
    print(
        f"stability ARI (seed vs seed+1) at k={selection.chosen_k}: {selection.stability_ari:.4f}"
    )

    print("\nsegment                                  customers    revenue  orders  views  recency")
    raw = model.centroids_raw_by_feature()
    for i, name in enumerate(model.names):
        print(
            f"{i} {name:<38} {int(model.sizes[i]):>9,} {raw['revenue'][i]:10.1f} "
            f"{raw['order_count'][i]:7.2f} {raw['view_count'][i]:6.1f} {raw['recency_days'][i]:8.1f}"
        )
    counts = np.bincount(assigned["segment_id"].to_numpy(), minlength=model.k)
    assert np.array_equal(counts, model.sizes), "assign_segments disagrees with the fit"

    total = timer.total_seconds
    print("\n" + timer.table())
    print(f"(target < 30 s: {'met' if total < 30 else 'NOT met'})")
    print(f"peak RSS: {peak_rss_gb():.2f} GB")


if __name__ == "__main__":
    main()
