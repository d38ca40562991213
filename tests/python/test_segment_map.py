"""The segment map (amazing_analytics.ml.segment_map) on customers built for it."""

from __future__ import annotations

import logging

import numpy as np
import pyarrow as pa
import pytest

from amazing_analytics.ml.segment_map import (
    METHOD_RFM_FALLBACK,
    METHOD_SEGMENTATION_SPACE,
    SEGMENT_MAP_SCHEMA,
    build_segment_map,
    stratified_sample,
)

FEATURES = ("order_count", "recency_days")


def _centroids(weights: tuple[float, float] = (1.0, 1.0)) -> pa.Table:
    """A two-segment model over two features: scaler mean 0, std 1, no transform and no
    shrinkage (scaled = raw times the feature's weight)."""
    columns: dict[str, list] = {
        "segment_id": [0, 1],
        "segment_name": ["Big", "Small"],
        "suggested_action": ["-", "-"],
        "segment_size": [0, 0],
        "k": [2, 2],
        "seed": [0, 0],
    }
    for name, weight in zip(FEATURES, weights, strict=True):
        columns[f"centroid_{name}"] = [0.0, 0.0]
        columns[f"scaled_{name}"] = [0.0, 0.0]
        columns[f"scaler_mean_{name}"] = [0.0, 0.0]
        columns[f"scaler_std_{name}"] = [1.0, 1.0]
        columns[f"scaler_weight_{name}"] = [weight, weight]
        columns[f"scaler_pseudo_views_{name}"] = [0.0, 0.0]
        columns[f"scaler_transform_{name}"] = ["identity", "identity"]
    return pa.table(columns)


def _customers(big: int, small: int) -> tuple[pa.Table, pa.Table, pa.Table]:
    """Two well-separated groups: 'Big' near (10, 0), 'Small' near (0, 10)."""
    rng = np.random.default_rng(0)
    n = big + small
    users = np.arange(1, n + 1)
    orders = np.r_[10 + rng.normal(0, 0.1, big), rng.normal(0, 0.1, small)]
    recency = np.r_[rng.normal(0, 0.1, big), 10 + rng.normal(0, 0.1, small)]
    features = pa.table({"user_id": users, "order_count": orders, "recency_days": recency})
    segments = pa.table(
        {
            "user_id": users,
            "segment_id": [0] * big + [1] * small,
            "segment_name": ["Big"] * big + ["Small"] * small,
        }
    )
    rfm = pa.table(
        {
            "user_id": users,
            "recency_days": recency,
            "frequency": orders,
            "monetary": orders * 10,
        }
    )
    return features, segments, rfm


def test_stratified_sample_keeps_shares_and_small_segments() -> None:
    ids = np.array([0] * 900 + [1] * 90 + [2] * 10)
    rows = stratified_sample(ids, 100, 20, seed=1)
    taken = np.bincount(ids[rows])
    # 90 and 9 by share; the small segments are raised to 20 (or all they have)
    assert taken.tolist() == [90, 20, 10]
    assert np.array_equal(rows, np.sort(rows)) and len(set(rows)) == len(rows)
    assert np.array_equal(rows, stratified_sample(ids, 100, 20, seed=1))
    assert not np.array_equal(rows, stratified_sample(ids, 100, 20, seed=2))
    with pytest.raises(ValueError, match="sample_size"):
        stratified_sample(ids, 0, 20, seed=1)


def test_map_separates_segments_in_the_segmentation_space() -> None:
    features, segments, rfm = _customers(300, 100)
    table = build_segment_map(
        features, segments, _centroids(), rfm, sample_size=200, seed=3, min_per_segment=60
    )
    assert table.schema == SEGMENT_MAP_SCHEMA
    names = table.column("segment_name").to_pylist()
    assert names.count("Big") == 150 and names.count("Small") == 60
    assert set(table.column("projection_method").to_pylist()) == {METHOD_SEGMENTATION_SPACE}
    assert table.column("point_id").to_pylist() == list(range(1, 211))
    assert set(table.column("segmented_customer_count").to_pylist()) == {400}
    x = np.asarray(table.column("x"))
    big = np.array(names) == "Big"
    # the two groups fall on opposite sides of the first axis, which carries nearly everything
    assert (x[big].max() < x[~big].min()) or (x[~big].max() < x[big].min())
    assert table.column("x_variance_share")[0].as_py() > 0.95
    # row order of the inputs does not matter
    shuffled = build_segment_map(
        features.take(pa.array(np.arange(399, -1, -1))),
        segments.take(pa.array(np.arange(399, -1, -1))),
        _centroids(),
        rfm,
        sample_size=200,
        seed=3,
        min_per_segment=60,
    )
    assert shuffled.equals(table)


def test_map_uses_rfm_when_segmentation_fell_back() -> None:
    features, segments, rfm = _customers(50, 50)
    empty = _centroids().slice(0, 0)
    table = build_segment_map(
        features, segments, empty, rfm, sample_size=40, seed=3, min_per_segment=5
    )
    assert table.num_rows == 40
    assert set(table.column("projection_method").to_pylist()) == {METHOD_RFM_FALLBACK}


def test_map_without_enough_customers_is_empty_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    features, segments, rfm = _customers(5, 4)
    with caplog.at_level(logging.WARNING):
        table = build_segment_map(features, segments, _centroids(), rfm, sample_size=100, seed=1)
    assert table.num_rows == 0 and table.schema == SEGMENT_MAP_SCHEMA
    assert "9 segmented customers, at least 10 needed" in caplog.text


def test_unknown_values_scale_to_the_centre_and_missing_features_fail() -> None:
    features, segments, rfm = _customers(20, 20)
    recency = features.column("recency_days").to_pylist()
    recency[0] = None
    with_null = features.set_column(2, "recency_days", pa.array(recency, pa.float64()))
    table = build_segment_map(
        with_null, segments, _centroids(), rfm, sample_size=40, seed=1, min_per_segment=1
    )
    assert table.num_rows == 40 and not any(np.isnan(np.asarray(table.column("x"))))
    with pytest.raises(ValueError, match="lacks column.*recency_days"):
        build_segment_map(
            features.drop_columns(["recency_days"]),
            segments,
            _centroids(),
            rfm,
            sample_size=40,
            seed=1,
        )


def test_group_weights_of_the_segmentation_are_applied() -> None:
    features, segments, rfm = _customers(50, 50)
    # a segmentation that weighs recency 0: the map is one-dimensional (order_count only)
    weighted = _centroids(weights=(1.0, 0.0))
    table = build_segment_map(
        features, segments, weighted, rfm, sample_size=100, seed=1, min_per_segment=1
    )
    assert table.column("x_variance_share")[0].as_py() == pytest.approx(1.0)
    assert np.allclose(np.asarray(table.column("y")), 0.0)
