"""The serving bundle: content, GDPR, manifest and the atomic swap (hand-made inputs)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from amazing_analytics.serving import bundle as bundle_module
from amazing_analytics.serving.bundle import (
    BUILDS_DIR,
    SCHEMAS,
    BundleError,
    read_manifest,
    serving_dir,
)
from amazing_analytics.serving.bundle import writer as bundle_writer
from amazing_analytics.serving.bundle.content import INPUT_ORDER
from amazing_analytics.serving.store import load_bundle
from serving_fixtures import CREATED_AT, interactions, write_test_bundle


def _table(target: Path, name: str) -> pa.Table:
    return pq.read_table(target / f"{name}.parquet")


@pytest.fixture()
def target(tmp_path: Path) -> Path:
    return tmp_path / "warehouse" / "serving"


def test_one_row_per_file_with_the_row_counts_of_the_files_and_manifest(target: Path) -> None:
    result = write_test_bundle(target)
    manifest = read_manifest(target)
    assert sorted(result.column("table_name").to_pylist()) == sorted(SCHEMAS)
    assert set(result.column("build_id").to_pylist()) == {manifest["build_id"]}
    for name, rows in zip(
        result.column("table_name").to_pylist(), result.column("row_count").to_pylist(), strict=True
    ):
        assert _table(target, name).num_rows == rows == manifest["row_counts"][name]
        assert manifest["files"][name]["file"] == f"{name}.parquet"
    assert manifest["created_at"] == "2026-12-01T12:00:00Z"
    assert manifest["build_id"].startswith("20261201T120000Z-")
    assert manifest["row_counts"]["products"] == 10
    assert manifest["row_counts"]["session_item_neighbours"] == 7


def test_manifest_names_the_served_models_with_their_figures(target: Path) -> None:
    write_test_bundle(target)
    models = read_manifest(target)["models"]
    assert models["session"]["name"] == "vsknn_history"
    assert models["session"]["evaluated"] is True
    # the selected params over the model's defaults, as the session module reads them
    assert models["session"]["params"] == {
        "weight_view": 1.0,
        "weight_cart": 3.0,
        "weight_purchase": 5.0,
        "history_weight": 0.5,
        "history_neighbour_weight": 0.3,
        "history_length": 10.0,
    }
    assert models["session"]["evaluation"] == [
        {
            "ci_high": 0.18,
            "ci_low": 0.14,
            "k": 20,
            "metric": "hit_rate",
            "session_count": 900,
            "value": 0.16,
        },
        {
            "ci_high": 0.06,
            "ci_low": 0.04,
            "k": 20,
            "metric": "mrr",
            "session_count": 900,
            "value": 0.05,
        },
    ]
    assert models["user"]["name"] == "lightfm"
    assert models["user"]["evaluation"] == [
        {"k": 10, "metric": "ndcg", "user_count": 500, "value": 0.12}
    ]


def test_without_a_session_evaluation_popularity_serves_sessions(target: Path) -> None:
    write_test_bundle(target, session_recommender_evaluation=None)
    session = read_manifest(target)["models"]["session"]
    assert session["name"] == "popularity"
    assert session["evaluated"] is False
    assert "popularity serves" in session["message"]


def test_the_embedding_model_gets_embedding_neighbours(target: Path) -> None:
    from serving_fixtures import session_evaluation

    write_test_bundle(target)
    plain = _table(target, "session_item_neighbours")
    assert set(plain.column("source").to_pylist()) == {"session"}
    write_test_bundle(
        target,
        created_at=datetime(2026, 12, 2, tzinfo=UTC),
        session_recommender_evaluation=session_evaluation("embedding").drop_columns(["params"]),
    )
    rows = _table(target, "session_item_neighbours")
    embedding = rows.filter(pc.field("source") == "embedding")
    assert rows.num_rows - embedding.num_rows == plain.num_rows
    assert embedding.num_rows == 10 * 9  # every other product, top 50
    first = embedding.filter(pc.field("product_id") == 1001).sort_by("neighbour_rank")
    assert first.column("neighbour_product_id").to_pylist()[:2] == [1002, 1003]
    assert load_bundle(target).session_model["name"] == "embedding"


def test_a_bundle_with_unusable_session_params_is_not_loaded(target: Path) -> None:
    write_test_bundle(target)
    path = Path(os.path.realpath(target)) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["models"]["session"]["params"] = {"speed": 1.0}
    path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="has no param 'speed'"):
        load_bundle(target)


def test_opted_out_and_erased_shoppers_leave_only_their_id(target: Path) -> None:
    write_test_bundle(target)
    for name in ("user_recommendations", "user_history", "user_embeddings"):
        users = set(_table(target, name).column("user_id").to_pylist())
        assert not users & {2, 3}, name
    # null ids of the seed are dropped, not kept as a null
    assert _table(target, "personalisation_opt_outs").column("user_id").to_pylist() == [2]
    assert _table(target, "erasure_requests").column("user_id").to_pylist() == [3]


def test_history_is_recent_not_bought_newest_first_plus_bought(target: Path) -> None:
    write_test_bundle(target)
    history = _table(target, "user_history").filter(pc.field("user_id") == 1)
    rows = [(r["product_id"], r["history_rank"], r["is_bought"]) for r in history.to_pylist()]
    assert rows == [(1005, 1, False), (1001, 2, False), (1003, 1, True), (1009, 2, True)]


def test_history_size_bounds_the_recent_products(tmp_path: Path) -> None:
    target = tmp_path / "serving"
    tables = bundle_module.bundle_tables(
        **{
            k: v
            for k, v in _inputs().items()
            if k not in ("recommender_evaluation", "session_recommender_evaluation")
        },
        history_size=1,
    )
    history = tables["user_history"].filter(pc.field("user_id") == 1)
    assert [(r["product_id"], r["is_bought"]) for r in history.to_pylist()] == [
        (1005, False),
        (1003, True),
        (1009, True),
    ]
    assert not target.exists()
    with pytest.raises(BundleError, match="history_size"):
        bundle_module.bundle_tables(**{**_without_evaluations(), "history_size": 0})


def _inputs() -> dict:
    import serving_fixtures as f

    return {
        "recommendations": f.recommendations(),
        "session_item_neighbours": f.neighbours(),
        "similar_products": f.similar_products(),
        "item_embeddings": f.item_embeddings(),
        "user_embeddings": f.user_embeddings(),
        "popular_products": f.popular_products(),
        "product_features": f.product_features(),
        "interactions": f.interactions(),
        "opt_outs": f.opt_outs(),
        "erasures": f.erasures(),
        "recommender_evaluation": f.batch_evaluation(),
        "session_recommender_evaluation": f.session_evaluation(),
    }


def _without_evaluations() -> dict:
    inputs = _inputs()
    inputs.pop("recommender_evaluation")
    inputs.pop("session_recommender_evaluation")
    return inputs


def test_a_warehouse_relation_gives_the_same_tables_as_arrow() -> None:
    """serving_bundle passes the serving interactions as a relation of the warehouse (not read
    into Python): the histories and the overall popular list, opted-out and erased shoppers
    left out, are the ones the Arrow path gives (a split and a column the bundle does not read
    included)."""
    inputs = _without_evaluations()
    arrow = inputs["interactions"]
    assert arrow.num_rows and set(pc.unique(arrow.column("split")).to_pylist()) == {"serving"}
    with_other_split = pa.concat_tables(
        [arrow, arrow.set_column(0, "split", pa.array(["evaluation_train"] * arrow.num_rows))]
    )
    con = duckdb.connect()
    relation = con.from_arrow(with_other_split)
    from_arrow = bundle_module.bundle_tables(**{**inputs, "interactions": with_other_split})
    from_relation = bundle_module.bundle_tables(**{**inputs, "interactions": relation})
    assert from_relation.keys() == from_arrow.keys()
    for name, table in from_arrow.items():
        assert from_relation[name].equals(table), name
    assert from_arrow["user_history"].num_rows and from_arrow["popular_products"].num_rows
    # the opted-out shopper 2's five views of 1002 are left out on both paths
    assert 2 not in from_relation["user_history"].column("user_id").to_pylist()
    with pytest.raises(BundleError, match="lacks column"):
        bundle_module.bundle_tables(**{**inputs, "interactions": relation.project("user_id")})


def test_the_same_rows_in_another_order_give_the_same_files(tmp_path: Path) -> None:
    """The warehouse hands rows over in no fixed order: the bundle sorts every input by its keys,
    so the same marts give the same files, digests and build id (arrow or relation inputs)."""
    inputs = _without_evaluations()
    reordered = {
        name: table.take(pa.array(range(table.num_rows - 1, -1, -1)))
        for name, table in inputs.items()
    }
    con = duckdb.connect()
    as_relations = {
        **reordered,
        **{name: con.from_arrow(reordered[name]) for name in INPUT_ORDER},
    }
    built = {}
    for label, tables in (("given", inputs), ("reversed", reordered), ("relation", as_relations)):
        write_test_bundle(tmp_path / label / "serving", **tables)
        built[label] = read_manifest(tmp_path / label / "serving")
    assert inputs["recommendations"].num_rows > 1
    assert not reordered["recommendations"].equals(inputs["recommendations"])
    for label in ("reversed", "relation"):
        assert built[label]["files"] == built["given"]["files"], label
        assert built[label]["build_id"] == built["given"]["build_id"], label
    with pytest.raises(BundleError, match="lacks column"):
        bundle_module.bundle_tables(
            **{
                **inputs,
                "recommendations": con.from_arrow(inputs["recommendations"]).project("user_id"),
            }
        )


def test_overall_popularity_is_extended_without_opted_out_interactions(target: Path) -> None:
    write_test_bundle(target)
    popular = _table(target, "popular_products")
    overall = popular.filter(pc.field("context_type") == "all").to_pylist()
    # user 2 (opted out) viewed 1002 five times: not counted; 1001 and 1002 tie at 2.0 -> id
    assert [(r["product_id"], r["rank"], r["score"]) for r in overall] == [
        (1010, 1, 40.0),
        (1006, 2, 20.0),
        (1004, 3, 10.0),
        (1003, 4, 9.0),
        (1009, 5, 6.0),
        (1005, 6, 3.0),
        (1001, 7, 2.0),
        (1002, 8, 2.0),
    ]
    category = popular.filter(pc.field("context_type") == "category")
    assert category.column("product_id").to_pylist() == [1004, 1005]


def test_products_carry_a_description_for_the_reasons(target: Path) -> None:
    write_test_bundle(target)
    products = {r["product_id"]: r["description"] for r in _table(target, "products").to_pylist()}
    assert products[1001] == "acme smartphone"
    assert products[1005] == "smartphone 1005"
    assert products[1006] == "kettlr kettle"


def test_a_new_build_replaces_the_whole_bundle_and_keeps_one_previous(target: Path) -> None:
    first = read_build(write_test_bundle(target))
    second = read_build(write_test_bundle(target, created_at=datetime(2026, 12, 2, tzinfo=UTC)))
    assert target.is_symlink()
    assert read_manifest(target)["build_id"] == second != first
    builds = target.parent / BUILDS_DIR
    assert sorted(p.name for p in builds.iterdir()) == sorted([first, second])
    third = read_build(write_test_bundle(target, created_at=datetime(2026, 12, 3, tzinfo=UTC)))
    assert sorted(p.name for p in builds.iterdir()) == sorted([second, third])
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".serving.")]


def read_build(result: pa.Table) -> str:
    return result.column("build_id")[0].as_py()


def test_a_failed_build_leaves_the_old_bundle_whole(target: Path, monkeypatch) -> None:
    old = read_build(write_test_bundle(target))
    calls = {"n": 0}
    real = bundle_writer._write_parquet

    def failing(table: pa.Table, path: Path) -> str:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError("disk full")
        return real(table, path)

    monkeypatch.setattr(bundle_writer, "_write_parquet", failing)
    with pytest.raises(OSError, match="disk full"):
        write_test_bundle(target, created_at=datetime(2026, 12, 5, tzinfo=UTC))
    assert read_manifest(target)["build_id"] == old
    assert load_bundle(target).build_id == old
    assert not [p for p in target.parent.iterdir() if p.name.startswith(".serving.")]


def test_bad_input_is_a_clear_error_before_anything_is_written(target: Path) -> None:
    broken = interactions().drop_columns(["last_event_at"])
    with pytest.raises(BundleError, match="interactions lacks column"):
        write_test_bundle(target, interactions=broken)
    assert not target.parent.exists() or not any(target.parent.iterdir())


def test_an_older_plain_directory_is_moved_aside(target: Path) -> None:
    target.mkdir(parents=True)
    (target / "stale.txt").write_text("old layout")
    write_test_bundle(target)
    assert target.is_symlink()
    assert not (target / "stale.txt").exists()
    assert [
        p.name for p in (target.parent / BUILDS_DIR).iterdir() if p.name.startswith("replaced-")
    ]


def test_read_manifest_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no serving bundle"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(BundleError, match="format_version 99"):
        read_manifest(tmp_path)


def test_serving_dir_default_and_override(monkeypatch) -> None:
    monkeypatch.delenv("AMAZING_SERVING_DIR", raising=False)
    monkeypatch.setenv("AMAZING_WAREHOUSE", "/data/w/amazing.duckdb")
    assert serving_dir() == Path("/data/w/serving")
    assert serving_dir("x/y.duckdb") == Path("x/serving")
    monkeypatch.setenv("AMAZING_SERVING_DIR", "/srv/bundle")
    assert serving_dir() == Path("/srv/bundle")


def test_loaded_bundle_indexes(target: Path) -> None:
    write_test_bundle(target)
    loaded = load_bundle(target)
    assert loaded.created_at == CREATED_AT
    assert loaded.path == Path(os.path.realpath(target))
    assert loaded.opted_out == frozenset({2}) and loaded.erased == frozenset({3})
    assert loaded.user_lists.keys.tolist() == [1, 4, 5, 6]
    ids, scores = loaded.neighbours.neighbours(1001)
    assert ids.tolist() == [1002, 1003] and scores.tolist() == [0.9, 0.5]
    assert loaded.embeddings.vectors.shape == (10, 2)
    assert loaded.embeddings.user_vector(1).tolist() == [0.0, 1.0]
    assert loaded.embeddings.user_vector(2) is None
