"""GDPR commands on small hand-made warehouses, manifests and files (no dbt build): the live
lists, the purge and the search of exports and bundle, access, the lock message, the register."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from amazing_analytics.cli import app
from amazing_analytics.gdpr import lists
from amazing_analytics.gdpr.metadata import Locations, load_manifest, personal_tables
from amazing_analytics.gdpr.register import render_register
from amazing_analytics.gdpr.traces import find_in_files, purge_files, trace_condition

runner = CliRunner()
ALICE, BOB = 500000001, 500000002


def node(name: str, schema: str, meta: dict, resource_type: str = "model") -> dict:
    return {
        "unique_id": f"{resource_type}.amazing.{name}",
        "resource_type": resource_type,
        "name": name,
        "schema": schema,
        "alias": name,
        "config": {"meta": meta},
        "meta": meta,
        "columns": {},
    }


def personal_meta(columns: list[str], purpose: str = "analytics_reporting", **extra) -> dict:
    return {
        "contains_personal_data": True,
        "personal_data_columns": columns,
        "purpose": [purpose],
        "lawful_basis": "legitimate interest",
        "retention": "rebuilt every build",
        "recipients": ["analysts"],
        "personal_data_category": f"{purpose} data",
        **extra,
    }


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with seeds, a manifest and a small warehouse about Alice and Bob."""
    root = tmp_path / "project"
    (root / "seeds").mkdir(parents=True)
    (root / "target").mkdir()
    (root / "seeds" / "gdpr_erasure_requests.csv").write_text(
        "user_id,requested_at,request_reference\n"
    )
    (root / "seeds" / "gdpr_personalisation_opt_outs.csv").write_text("user_id,opted_out_at\n")
    manifest = {
        "nodes": {
            "model.amazing.customers": node("customers", "marts", personal_meta(["user_id"])),
            "model.amazing.events_quarantine": node(
                "events_quarantine",
                "staging",
                personal_meta(["user_id", "raw_line"], "data_quality_audit"),
            ),
            "model.amazing.recommender_embeddings": node(
                "recommender_embeddings",
                "ml",
                personal_meta(
                    ["entity_id"],
                    "recommendations",
                    user_id_column="entity_id",
                    personal_rows_filter="entity = 'user'",
                ),
            ),
            "model.amazing.kpi_daily": node("kpi_daily", "marts", {}),
            "seed.amazing.gdpr_erasure_requests": node(
                "gdpr_erasure_requests",
                "reference",
                personal_meta(["user_id"], "gdpr_compliance", erasure_list=True),
                "seed",
            ),
            "model.amazing.processing_register": node("processing_register", "marts", {})
            | {
                "config": {
                    "meta": {},
                    "gdpr_controller": "Shop SAS, Paris",
                    "gdpr_controller_representative": "none",
                    "gdpr_dpo": "dpo@shop.example",
                    "gdpr_security_measures": "encrypted disk\nread-only readers",
                    "gdpr_docs_base_url": "target/index.html",
                    "retention_months": "24",
                }
            },
        },
        "sources": {},
    }
    (root / "target" / "manifest.json").write_text(json.dumps(manifest))
    warehouse = root / "warehouse" / "w.duckdb"
    warehouse.parent.mkdir()
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "create schema marts; create schema ml; create schema staging; create schema reference"
        )
        con.execute(
            f"create table marts.customers as select * from (values ({ALICE}, 10.5), ({BOB}, 3.0)) t(user_id, revenue)"
        )
        con.execute(
            "create table staging.events_quarantine as select * from (values "
            f"('{ALICE}', '2019-10-01 00:00:00 UTC,view,1,,,,1.0,{ALICE},s'), "
            f"(null, '2019-10-01 00:00:00 UTC,view,{BOB},,,,1.0,xyz,s')) t(user_id, raw_line)"
        )
        # entity_id = ALICE as a product must not count: only the user rows are personal
        con.execute(
            "create table ml.recommender_embeddings as select * from (values "
            f"('user', {ALICE}, [0.1, 0.2]::double[]), ('product', {BOB}, [0.3, 0.4]::double[])) t(entity, entity_id, embedding)"
        )
        con.execute("create table marts.kpi_daily as select 1 as visitors")
        # a table nobody declared still counts for verify: it has a user_id column
        con.execute(f"create table marts.undeclared as select {ALICE} as user_id")
        con.execute(
            "create table reference.gdpr_erasure_requests (user_id bigint, requested_at timestamp, request_reference varchar)"
        )
    monkeypatch.setenv("AMAZING_WAREHOUSE", str(warehouse))
    for variable in ("AMAZING_GDPR_LIVE_DIR", "AMAZING_EXPORTS_DIR", "AMAZING_SERVING_DIR"):
        monkeypatch.delenv(variable, raising=False)
    return root


def write_outputs(warehouse_dir: Path) -> None:
    """Fake Parquet exports and serving bundle holding Alice and Bob."""
    parquet = warehouse_dir / "exports" / "parquet"
    parquet.mkdir(parents=True)
    serving = warehouse_dir / "serving"
    serving.mkdir()
    (serving / "manifest.json").write_text(json.dumps({"model": "popularity", "files": 2}))
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from (values ({ALICE}, 'Champions'), ({BOB}, 'Hibernating')) t(user_id, rfm_segment)) "
            f"to '{parquet / 'customer_rfm.parquet'}' (format parquet)"
        )
        con.execute(
            f"copy (select * from (values ({ALICE}, 'a'), ({BOB}, 'b')) t(target_user_id, note)) "
            f"to '{parquet / 'campaign_export.csv'}' (format csv, header true)"
        )
        con.execute(
            "copy (select * from (values ('user', "
            f"{ALICE}, 1.0), ('user', {BOB}, 2.0), ('product', {ALICE}, 3.0)) t(entity, entity_id, bias)) "
            f"to '{serving / 'embeddings.parquet'}' (format parquet)"
        )
        con.execute(
            f"copy (select 7 as product_id, 1 as rank) to '{serving / 'popular.parquet'}' (format parquet)"
        )


def test_trace_condition_uses_the_meta_and_the_column_names() -> None:
    assert trace_condition({"product_id": "BIGINT", "score": "DOUBLE"}, ALICE) is None
    condition = trace_condition({"user_id": "BIGINT", "raw_line": "VARCHAR"}, ALICE)
    assert condition is not None and "user_id" in condition and "raw_line" in condition
    entity = trace_condition({"entity": "VARCHAR", "entity_id": "BIGINT"}, ALICE)
    with duckdb.connect() as con:
        rows = con.execute(
            "select count(*) from (values ('user', ?), ('product', ?)) t(entity, entity_id) "
            f"where {entity}",
            [ALICE, ALICE],
        ).fetchone()
    assert rows == (1,)


def test_purge_rewrites_only_the_person_out_of_every_file(project: Path) -> None:
    warehouse_dir = project / "warehouse"
    write_outputs(warehouse_dir)
    before = find_in_files(warehouse_dir, ALICE, "outputs")
    assert {Path(t.location).name: t.rows for t in before} == {
        "customer_rfm.parquet": 1,
        "campaign_export.csv": 1,
        "embeddings.parquet": 1,
    }
    removed = purge_files(warehouse_dir, ALICE)
    assert {Path(path).name: rows for path, rows in removed.items()} == {
        "customer_rfm.parquet": 1,
        "campaign_export.csv": 1,
        "embeddings.parquet": 1,
    }
    assert find_in_files(warehouse_dir, ALICE, "outputs") == []
    with duckdb.connect() as con:
        assert con.execute(
            f"select * from read_parquet('{warehouse_dir / 'serving' / 'embeddings.parquet'}') order by bias"
        ).fetchall() == [("user", BOB, 2.0), ("product", ALICE, 3.0)]
        assert con.execute(
            f"select user_id from read_parquet('{warehouse_dir / 'exports' / 'parquet' / 'customer_rfm.parquet'}')"
        ).fetchall() == [(BOB,)]
    # no temporary file is left beside the rewritten ones
    assert not [p for p in warehouse_dir.rglob(".*") if p.is_file() and "lock" not in p.name]


def test_opt_out_reaches_the_live_list_at_once_and_opt_in_withdraws_it(project: Path) -> None:
    result = runner.invoke(app, ["gdpr", "opt-out", str(ALICE), "--project", str(project)])
    assert result.exit_code == 0, result.output
    live = project / "warehouse" / "gdpr_live" / "personalisation_opt_outs.csv"
    rows = list(csv.DictReader(live.open()))
    assert [row["user_id"] for row in rows] == [str(ALICE)] and rows[0]["opted_out_at"]
    seed = project / "seeds" / "gdpr_personalisation_opt_outs.csv"
    assert [row["user_id"] for row in csv.DictReader(seed.open())] == [str(ALICE)]
    # the API's other list exists too, so it can watch both files from the start
    assert (project / "warehouse" / "gdpr_live" / "erasure_requests.csv").read_text() == (
        "user_id,requested_at\n"
    )
    again = runner.invoke(app, ["gdpr", "opt-out", str(ALICE), "--project", str(project)])
    assert "already opted out" in again.output
    assert len(list(csv.DictReader(live.open()))) == 1

    result = runner.invoke(app, ["gdpr", "opt-in", str(ALICE), "--project", str(project)])
    assert result.exit_code == 0, result.output
    assert list(csv.DictReader(live.open())) == []
    assert list(csv.DictReader(seed.open())) == []


def test_the_live_list_honours_the_environment(project: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AMAZING_GDPR_LIVE_DIR", str(tmp_path / "live"))
    runner.invoke(app, ["gdpr", "opt-out", str(BOB), "--project", str(project)])
    assert str(BOB) in (tmp_path / "live" / "personalisation_opt_outs.csv").read_text()


def test_erase_records_purges_and_verify_names_what_is_left(project: Path) -> None:
    write_outputs(project / "warehouse")
    lists.add(lists.opt_out_seed(project / "seeds"), ALICE, {"opted_out_at": "2020-01-01 00:00:00"})

    result = runner.invoke(
        app, ["gdpr", "erase", str(ALICE), "--reference", "REQ-9", "--project", str(project)]
    )
    assert result.exit_code == 0, result.output
    seed_rows = list(csv.DictReader((project / "seeds" / "gdpr_erasure_requests.csv").open()))
    assert [(r["user_id"], r["request_reference"]) for r in seed_rows] == [(str(ALICE), "REQ-9")]
    live = project / "warehouse" / "gdpr_live" / "erasure_requests.csv"
    assert [r["user_id"] for r in csv.DictReader(live.open())] == [str(ALICE)]
    assert "make build docs" in result.output or "dbt build" in result.output
    assert "purged 1 row(s)" in result.output
    # the objection list no longer names the erased user
    assert not lists.contains(lists.opt_out_seed(project / "seeds"), ALICE)

    # the files are clean, but the warehouse still holds Alice until the rebuild
    verify = runner.invoke(app, ["gdpr", "verify", str(ALICE), "--project", str(project)])
    assert verify.exit_code == 1, verify.output
    assert "warehouse" in verify.output
    for table in (
        "marts.customers",
        "staging.events_quarantine",
        "ml.recommender_embeddings",
        "marts.undeclared",
    ):
        assert table in verify.output
    assert "exports" not in verify.output.split("traces found")[1]
    assert "serving" not in verify.output.split("traces found")[1]

    # Bob was never erased, and his erasure-free data is no trace of Alice's
    with duckdb.connect(str(project / "warehouse" / "w.duckdb")) as con:
        con.execute(f"delete from marts.customers where user_id = {ALICE}")
        con.execute(f"delete from staging.events_quarantine where user_id = '{ALICE}'")
        con.execute(
            f"delete from ml.recommender_embeddings where entity = 'user' and entity_id = {ALICE}"
        )
        con.execute("drop table marts.undeclared")
        con.execute(f"insert into reference.gdpr_erasure_requests values ({ALICE}, now(), 'REQ-9')")
    clean = runner.invoke(app, ["gdpr", "verify", str(ALICE), "--project", str(project)])
    assert clean.exit_code == 0, clean.output
    assert "no trace" in clean.output and "kept by legal obligation" in clean.output

    # a docs artifact that still names the user is a trace
    (project / "target" / "run_results.json").write_text(json.dumps({"failures": [ALICE]}))
    docs = runner.invoke(app, ["gdpr", "verify", str(ALICE), "--project", str(project)])
    assert docs.exit_code == 1 and "run_results.json" in docs.output


def test_access_writes_every_table_with_an_index(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "alice"
    result = runner.invoke(
        app, ["gdpr", "access", str(ALICE), "--out", str(out), "--project", str(project)]
    )
    assert result.exit_code == 0, result.output
    index = json.loads((out / "index.json").read_text())
    assert {t["table"]: t["rows"] for t in index["tables"]} == {
        "marts.customers": 1,
        "staging.events_quarantine": 1,
        "ml.recommender_embeddings": 1,
    }
    customers = json.loads((out / "marts.customers.json").read_text())
    assert customers == [{"user_id": ALICE, "revenue": "10.5"}]
    embeddings = list(csv.DictReader((out / "ml.recommender_embeddings.csv").open()))
    assert embeddings == [{"entity": "user", "entity_id": str(ALICE), "embedding": "[0.1, 0.2]"}]
    assert index["tables"][0]["lawful_basis"] and index["tables"][0]["purposes"]
    opt_outs = str(project / "warehouse" / "gdpr_live" / "personalisation_opt_outs.csv")
    assert index["lists"][opt_outs] is False
    assert (out / "explanations.md").read_text().startswith(f"# What we hold about user {ALICE}")


def test_access_for_an_unknown_or_bad_id_is_clear(project: Path, tmp_path: Path) -> None:
    unknown = runner.invoke(
        app, ["gdpr", "access", "42", "--out", str(tmp_path / "x"), "--project", str(project)]
    )
    assert unknown.exit_code == 3 and "no data held about user 42" in unknown.output
    assert not (tmp_path / "x").exists()
    bad = runner.invoke(
        app, ["gdpr", "access", "4x2", "--out", str(tmp_path / "x"), "--project", str(project)]
    )
    assert bad.exit_code == 2 and "not a user id" in bad.output
    assert "Traceback" not in bad.output + unknown.output


def test_a_missing_manifest_or_warehouse_is_a_clear_error(project: Path, tmp_path: Path) -> None:
    (project / "target" / "manifest.json").unlink()
    result = runner.invoke(app, ["gdpr", "verify", str(ALICE), "--project", str(project)])
    assert result.exit_code == 2 and "dbt parse" in result.output
    result = runner.invoke(
        app,
        [
            "gdpr",
            "verify",
            str(ALICE),
            "--project",
            str(tmp_path),
            "--warehouse",
            str(tmp_path / "no.duckdb"),
        ],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_a_build_holding_the_warehouse_is_reported_not_a_traceback(
    project: Path, tmp_path: Path
) -> None:
    warehouse = project / "warehouse" / "w.duckdb"
    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, pathlib, sys, time\n"
            f"con = duckdb.connect({str(warehouse)!r})\n"
            f"pathlib.Path({str(ready)!r}).write_text('1')\n"
            "time.sleep(60)\n",
        ]
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists()
        for command in (
            ["verify", str(ALICE)],
            ["access", str(ALICE), "--out", str(tmp_path / "a")],
        ):
            result = runner.invoke(app, ["gdpr", *command, "--project", str(project)])
            assert result.exit_code == 4, result.output
            assert "in use by another process" in result.output
            assert "Traceback" not in result.output
        # the lists need no warehouse: an opt-out works during a build
        result = runner.invoke(app, ["gdpr", "opt-out", str(BOB), "--project", str(project)])
        assert result.exit_code == 0, result.output
    finally:
        holder.kill()
        holder.wait()


def test_personal_tables_read_the_meta() -> None:
    manifest = {
        "nodes": {
            "model.amazing.a": node("a", "marts", personal_meta(["user_id", "session_id"])),
            "model.amazing.b": node("b", "marts", {"grain": "one row per day"}),
        }
    }
    (table,) = personal_tables(manifest)
    assert (table.label, table.user_id_column, table.raw_line_column) == (
        "marts.a",
        "user_id",
        None,
    )


def test_the_register_has_every_article_30_heading_and_links(project: Path) -> None:
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    purposes = [
        {
            "purpose": purpose,
            "purpose_name": purpose.replace("_", " ").title(),
            "description": f"does {purpose}",
            "lawful_basis": "legitimate interest",
            "data_subjects": "shoppers",
            "retention": "24 months",
            "recipients": "analysts",
            "transfers": "none",
        }
        for purpose in ("analytics_reporting", "data_quality_audit", "demand_forecasting")
    ]
    text = render_register(manifest, purposes)
    for heading in (
        "(a) controller",
        "(b) purpose",
        "(c) categories of data subjects",
        "(c) categories of personal data",
        "(d) recipients",
        "(e) transfers",
        "(f) time limits for erasure",
        "(g) security measures",
    ):
        assert text.count(heading) == 3, heading
    assert "Shop SAS, Paris" in text and "dpo@shop.example" in text
    assert "encrypted disk; read-only readers" in text
    assert "[marts.customers](../target/index.html#!/model/model.amazing.customers)" in text
    assert "No table holds personal data for this purpose." in text  # demand_forecasting
    assert "events older than 24 months are dropped" in text
    # recommendations is used by a table but missing from the purposes: the register says so
    assert "missing from the seed**: gdpr_compliance, recommendations" in text


def test_locations_follow_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMAZING_WAREHOUSE", str(tmp_path / "w" / "a.duckdb"))
    for variable in ("AMAZING_GDPR_LIVE_DIR", "AMAZING_EXPORTS_DIR", "AMAZING_SERVING_DIR"):
        monkeypatch.delenv(variable, raising=False)
    locations = Locations.resolve(project=tmp_path)
    assert locations.live_dir == tmp_path / "w" / "gdpr_live"
    assert locations.exports_dir == tmp_path / "w" / "exports"
    assert locations.serving_dir == tmp_path / "w" / "serving"
    monkeypatch.setenv("AMAZING_SERVING_DIR", str(tmp_path / "bundle"))
    assert Locations.resolve(project=tmp_path).serving_dir == tmp_path / "bundle"


def test_erase_reaches_every_kept_bundle_and_verify_keeps_the_bundles_erasure_list(
    project: Path,
) -> None:
    """The serving bundle is a symlink into .serving-builds/, which keeps the previous build
    (the API may still hold it): erase purges every build, and the bundle's own erasure list,
    which the API needs to treat the id as unknown, is kept by obligation, not a trace."""
    from amazing_analytics.gdpr.rights import BUNDLE_ERASURE_LIST, record_erasure, verify

    warehouse_dir = project / "warehouse"
    builds = warehouse_dir / ".serving-builds"
    with duckdb.connect() as con:
        for build in ("b1", "b2"):
            (builds / build).mkdir(parents=True)
            con.execute(
                f"copy (select {ALICE} as user_id, 1 as product_id union all "
                f"select {BOB}, 2) to '{builds / build / 'user_recommendations.parquet'}' (format parquet)"
            )
            con.execute(
                f"copy (select {ALICE}::bigint as user_id) to '{builds / build / BUNDLE_ERASURE_LIST}' (format parquet)"
            )
    (warehouse_dir / "serving").symlink_to(builds / "b2")
    locations = Locations.resolve(project=project, warehouse=warehouse_dir / "w.duckdb")

    result = record_erasure(locations, ALICE)
    assert sorted(Path(p).parent.name for p in result.purged) == ["b1", "b2"]
    for build in ("b1", "b2"):
        assert find_in_files(builds / build, BOB, "serving")  # Bob stays
        found = {Path(t.location).name for t in find_in_files(builds / build, ALICE, "serving")}
        assert found == {BUNDLE_ERASURE_LIST}
    proof = verify(locations, ALICE)
    assert not [t for t in proof.traces if t.place == "serving"]
    assert sum(Path(p).name == BUNDLE_ERASURE_LIST for p in proof.kept_by_obligation) == 2


def test_erase_brings_the_bundle_manifest_in_line_with_the_rewritten_files(
    project: Path,
) -> None:
    """The manifest's row counts and sha256 digests describe the files after the erasure; the
    build id stays and the amendment is dated."""
    import hashlib

    from amazing_analytics.gdpr.rights import record_erasure
    from amazing_analytics.serving.bundle import MANIFEST

    warehouse_dir = project / "warehouse"
    build = warehouse_dir / ".serving-builds" / "b1"
    build.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from (values ({ALICE}, 1), ({ALICE}, 3), ({BOB}, 2)) t(user_id, product_id)) "
            f"to '{build / 'user_recommendations.parquet'}' (format parquet)"
        )
        con.execute(
            f"copy (select 7 as product_id) to '{build / 'popular_products.parquet'}' (format parquet)"
        )
    manifest = {
        "build_id": "b1",
        "row_counts": {"user_recommendations": 3, "popular_products": 1},
        "files": {
            "user_recommendations": {
                "file": "user_recommendations.parquet",
                "rows": 3,
                "sha256": "old",
            },
            "popular_products": {"file": "popular_products.parquet", "rows": 1, "sha256": "kept"},
        },
    }
    (build / MANIFEST).write_text(json.dumps(manifest))
    (warehouse_dir / "serving").symlink_to(build)
    locations = Locations.resolve(project=project, warehouse=warehouse_dir / "w.duckdb")

    record_erasure(locations, ALICE)
    after = json.loads((build / MANIFEST).read_text())
    entry = after["files"]["user_recommendations"]
    assert entry["rows"] == 1 and after["row_counts"]["user_recommendations"] == 1
    digest = hashlib.sha256((build / "user_recommendations.parquet").read_bytes()).hexdigest()
    assert entry["sha256"] == digest
    assert after["files"]["popular_products"] == manifest["files"]["popular_products"]
    assert after["build_id"] == "b1" and after["amended_at"]


def _feedback_logs(directory: Path) -> tuple[str, str]:
    """Impressions of Alice, Bob and an anonymous visitor, one file per 'process', and feedback
    on Alice's and Bob's answers; returns Alice's and Bob's request ids."""
    from datetime import UTC, datetime

    from amazing_analytics.serving.feedback import FeedbackLog

    class Clock:
        def __call__(self) -> datetime:
            return datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

    first, second = FeedbackLog(directory, Clock()), FeedbackLog(directory, Clock())
    alice = first.impression(user_id=ALICE, items=[1, 2], model="sknn", build_id="b", route="r")
    bob = first.impression(user_id=BOB, items=[2, 3], model="sknn", build_id="b", route="r")
    second.impression(user_id=ALICE, items=[4], model="sknn", build_id="b", route="r")
    second.impression(user_id=None, items=[5], model="popularity", build_id="b", route="r")
    first.record_feedback(alice, 2, "click")
    second.record_feedback(bob, 3, "purchase")
    second.record_feedback(alice, 1, "cart")
    first.flush()
    second.flush()
    return alice, bob


def _lines(directory: Path, kind: str) -> list[dict]:
    return [
        json.loads(line)
        for path in sorted((directory / kind).glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


def test_erase_verify_and_access_cover_the_apis_feedback_logs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 15 §4: the impressions name the shopper, the feedback is theirs through the request
    id. Access exports both; erase rewrites the files without them (Bob's and the anonymous
    lines stay, untouched); verify finds them before and not after."""
    from amazing_analytics.gdpr.access import export_access
    from amazing_analytics.gdpr.rights import record_erasure, verify

    feedback = project / "warehouse" / "feedback"
    monkeypatch.delenv("AMAZING_FEEDBACK_DIR", raising=False)
    locations = Locations.resolve(project=project)
    assert locations.feedback_dir == feedback  # beside the warehouse by default
    alice, bob = _feedback_logs(feedback)
    bob_lines = [line for line in _lines(feedback, "impressions") if line["user_id"] != ALICE]

    before = verify(locations, ALICE)
    found = {Path(t.location).parent.name: t.rows for t in before.traces if t.place == "feedback"}
    assert sum(t.rows for t in before.traces if t.place == "feedback") == 4  # 2 + 2
    assert set(found) == {"impressions", "feedback"}

    out = project / "access"
    with duckdb.connect(str(locations.warehouse), read_only=True) as con:
        report = export_access(
            con,
            personal_tables(load_manifest(locations.manifest)),
            ALICE,
            out,
            feedback_dir=locations.feedback_dir,
        )
    exported = json.loads((out / "api_recommendation_impressions.json").read_text())
    assert sorted(row["items"] for row in exported) == [[1, 2], [4]]
    sent = json.loads((out / "api_recommendation_feedback.json").read_text())
    assert sorted((row["action"], row["request_id"]) for row in sent) == [
        ("cart", alice),
        ("click", alice),
    ]
    index = json.loads((out / "index.json").read_text())
    assert index["api_logs"]["impressions"] == 2 and index["api_logs"]["feedback"] == 2
    assert report.personal_rows >= 4

    result = record_erasure(locations, ALICE)
    assert sum(rows for path, rows in result.purged.items() if "/feedback/" in path) == 4
    assert _lines(feedback, "impressions") == bob_lines
    assert [(line["request_id"], line["action"]) for line in _lines(feedback, "feedback")] == [
        (bob, "purchase")
    ]
    assert not [t for t in verify(locations, ALICE).traces if t.place == "feedback"]
    assert {t.place for t in verify(locations, BOB).traces} >= {"feedback"}
    for path in (feedback / "impressions").glob("*.jsonl"):
        assert path.stat().st_mode & 0o777 == 0o600
