"""`dbt build` writes the serving bundle the API reads (a small generated shop, built once)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from amazing_analytics.serving.app import create_app
from amazing_analytics.serving.bundle import SCHEMAS
from conftest import Build


@pytest.fixture()
def built(
    tmp_path: Path,
    dbt_project: Path,
    build_events: Callable[..., Build],
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[Build, int]:
    from amazing_analytics.generate import generate_events

    monkeypatch.delenv("AMAZING_SERVING_DIR", raising=False)
    generate_events(30_000, 11, tmp_path / "demo")
    opted_out = duckdb.sql(
        f"select user_id from read_csv('{tmp_path / 'demo'}/*.csv.gz') where event_type = 'purchase' "
        "group by user_id order by count(*) desc, user_id limit 1"
    ).fetchall()[0][0]
    (dbt_project / "seeds" / "gdpr_personalisation_opt_outs.csv").write_text(
        f"user_id,opted_out_at\n{opted_out},2020-01-01 00:00:00\n"
    )
    # the bundle's parents only, with the tests whose every parent is built
    build = build_events(
        dbt_project,
        str(tmp_path / "demo" / "*.csv.gz"),
        "--select",
        "+serving_bundle",
        "--indirect-selection",
        "cautious",
    )
    return build, int(opted_out)


def test_the_build_writes_the_bundle_and_the_api_serves_it(built: tuple[Build, int]) -> None:
    build, opted_out = built
    serving = build.warehouse.parent / "serving"
    assert serving.is_symlink()
    manifest = json.loads((serving / "manifest.json").read_text())
    rows = build.query("select table_name, row_count, build_id from marts.serving_bundle")
    assert {name for name, _, _ in rows} == set(SCHEMAS)
    assert {build_id for _, _, build_id in rows} == {manifest["build_id"]}
    for name, count, _ in rows:
        assert pq.read_metadata(serving / f"{name}.parquet").num_rows == count
        assert manifest["row_counts"][name] == count
    # the warehouse and the bundle agree on what is served
    assert manifest["row_counts"]["session_item_neighbours"] == build.scalar(
        "select count(*) from marts.session_item_neighbours"
    )
    assert manifest["row_counts"]["products"] == build.scalar(
        "select count(*) from intermediate.int_recommender_product_features"
    )
    selected = build.query(
        "select distinct model from marts.session_recommender_evaluation where is_selected"
    )
    assert manifest["models"]["session"]["name"] == (selected[0][0] if selected else "popularity")
    assert manifest["models"]["user"]["name"] == build.scalar(
        "select distinct model from marts.recommender_evaluation where is_selected"
    )
    # the opt-out is named and leaves nothing else
    assert pq.read_table(serving / "personalisation_opt_outs.parquet").column(
        "user_id"
    ).to_pylist() == [opted_out]
    for name in ("user_recommendations", "user_history", "user_embeddings"):
        table = pq.read_table(serving / f"{name}.parquet")
        assert opted_out not in table.column("user_id").to_pylist()

    # the API answers from it, without the warehouse file
    moved = build.warehouse.with_suffix(".moved")
    os.rename(build.warehouse, moved)
    try:
        app = create_app(serving, build.warehouse.parent / "gdpr_live", reload_interval=0)
        with TestClient(app) as client:
            assert client.get("/readyz").json()["build_id"] == manifest["build_id"]
            user = pq.read_table(serving / "user_history.parquet").column("user_id")[0].as_py()
            product = (
                pq.read_table(serving / "session_item_neighbours.parquet")
                .column("product_id")[0]
                .as_py()
            )
            answer = client.post(
                "/v1/sessions/recommendations",
                json={"user_id": user, "events": [{"product_id": product, "event_type": "view"}]},
            ).json()
            assert len(answer["items"]) == 10
            assert answer["is_personalised"] is True
            mine = client.get(f"/v1/users/{opted_out}/recommendations").json()
            assert mine["is_personalised"] is False
    finally:
        os.rename(moved, build.warehouse)
