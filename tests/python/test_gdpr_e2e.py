"""GDPR end to end, with real dbt builds: the metadata rule fails the build, access finds a known
shopper in every personal-data table, erase + rebuild + verify leaves no trace anywhere (also in
the Parquet exports and the serving bundle), and retention drops old events and counts them."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from amazing_analytics.cli import app
from amazing_analytics.gdpr.metadata import load_manifest, personal_tables
from conftest import Build, copy_project, run_dbt
from test_warehouse_e2e import ALL_LINES, assert_reconciles, write_dirty_files

runner = CliRunner()


def test_a_model_with_a_user_column_but_no_meta_fails_the_build(
    tmp_path: Path, dbt_project: Path
) -> None:
    events_glob = write_dirty_files(tmp_path / "dirty")
    marts = dbt_project / "models" / "marts"
    # documented in yml, but without the personal-data meta: the singular test catches it
    (marts / "visit_counts.sql").write_text(
        "select user_id, count(*) as visit_count from {{ ref('stg_events') }} group by user_id\n"
    )
    (marts / "_visit_counts.yml").write_text(
        "version: 2\nmodels:\n  - name: visit_counts\n    description: Visits per user.\n"
        "    columns:\n      - name: user_id\n        description: The user.\n"
        "      - name: visit_count\n        description: Visits.\n"
    )
    # no yml at all: only the warehouse knows its columns; the after-run check catches it
    (marts / "shopper_scores.sql").write_text(
        "select user_id, 0.5 as score from {{ ref('customers') }}\n"
    )
    result = run_dbt(
        dbt_project,
        events_glob,
        "build",
        "--select",
        "+visit_counts",
        "+shopper_scores",
        "processing_purposes",
        "assert_personal_data_is_declared",
    )
    assert result.returncode != 0, result.output[-4000:]
    assert "FAIL" in result.output, result.output[-4000:]
    assert "assert_personal_data_is_declared" in result.output
    assert "GDPR check failed" in result.output
    for problem in (
        "visit_counts (user_id): has a person or session column but meta.contains_personal_data is not true",
        "visit_counts: meta.purpose is missing",
        "shopper_scores (user_id): column is not in meta.personal_data_columns",
        "shopper_scores: meta.lawful_basis is missing",
    ):
        assert problem in result.output, problem
    # the declared models pass the same rule
    assert "customers:" not in result.output and "stg_events:" not in result.output


@pytest.fixture(scope="module")
def demo_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    from amazing_analytics.generate import generate_events

    root = tmp_path_factory.mktemp("gdpr_demo")
    generate_events(40_000, 7, root / "demo")
    project = copy_project(root / "project")
    events_glob = str(root / "demo" / "*.csv.gz")
    build = run_dbt(project, events_glob, "build")
    assert build.returncode == 0, build.output[-6000:]
    docs = run_dbt(project, events_glob, "docs", "generate")
    assert docs.returncode == 0, docs.output[-4000:]
    return build


def known_shopper(build: Build) -> int:
    """The most active buyer who has a segment, recommendations and an embedding."""
    return int(
        build.scalar(
            "select user_id from marts.orders "
            "where user_id in (select user_id from marts.recommendations) "
            "and user_id in (select user_id from marts.user_embeddings) "
            "and user_id in (select user_id from marts.customer_segments) "
            "group by user_id order by count(*) desc, user_id limit 1"
        )
    )


@pytest.fixture
def gdpr_env(demo_build: Build, monkeypatch: pytest.MonkeyPatch) -> Build:
    # what `erase --rebuild` needs to rebuild the same project on the same files
    monkeypatch.setenv("AMAZING_EVENTS_PATH", str(demo_build.project.parent / "demo" / "*.csv.gz"))
    monkeypatch.setenv("AMAZING_WAREHOUSE", str(demo_build.warehouse))
    monkeypatch.setenv("DBT_PROFILES_DIR", str(demo_build.project))
    for variable in ("AMAZING_GDPR_LIVE_DIR", "AMAZING_EXPORTS_DIR", "AMAZING_SERVING_DIR"):
        monkeypatch.delenv(variable, raising=False)
    return demo_build


def test_access_finds_a_known_shopper_in_every_personal_data_table(
    gdpr_env: Build, tmp_path: Path
) -> None:
    build = gdpr_env
    user_id = known_shopper(build)
    out = tmp_path / "access"
    result = runner.invoke(
        app, ["gdpr", "access", str(user_id), "--out", str(out), "--project", str(build.project)]
    )
    assert result.exit_code == 0, result.output
    index = json.loads((out / "index.json").read_text())
    exported = {table["table"]: table["rows"] for table in index["tables"]}

    # every personal-data table of the metadata that holds the shopper, with all their rows
    tables = personal_tables(load_manifest(build.project / "target" / "manifest.json"))
    expected: dict[str, int] = {}
    for table in tables:
        if table.user_id_column is None:
            continue
        where = f"cast({table.user_id_column} as varchar) = '{user_id}'"
        if table.row_filter:
            where += f" and {table.row_filter}"
        rows = build.scalar(f"select count(*) from {table.relation} where {where}")
        if rows:
            expected[table.label] = rows
    assert exported == expected
    for must in (
        "staging.stg_events",
        "staging.base_events_parsed",
        "marts.sessions",
        "marts.orders",
        "marts.customers",
        "marts.customer_features",
        "marts.customer_rfm",
        "marts.customer_segments",
        "intermediate.int_interactions",
        "intermediate.int_customer_daily_activity",
        "marts.recommendations",
        "marts.user_embeddings",
        "ml.recommender_embeddings",
    ):
        assert must in exported, must
    events = json.loads((out / "staging.stg_events.json").read_text())
    assert len(events) == build.scalar(
        "select count(*) from staging.stg_events where user_id = ?", [user_id]
    )
    assert {event["user_id"] for event in events} == {user_id}
    with open(out / "marts.recommendations.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == exported["marts.recommendations"]

    explanations = (out / "explanations.md").read_text()
    segment = build.scalar(
        "select segment_name from marts.customer_segments where user_id = ?", [user_id]
    )
    assert f"Your segment is **{segment}**" in explanations
    for product_id, reason in build.query(
        "select product_id, reason from marts.recommendations where user_id = ? order by rank",
        [user_id],
    ):
        assert f"product {product_id}" in explanations and reason in explanations
    if build.scalar("select count(*) from marts.customer_propensity where user_id = ?", [user_id]):
        assert "chance that you buy in the next 30 days" in explanations


def test_erase_then_verify_leaves_no_trace_anywhere(gdpr_env: Build) -> None:
    build = gdpr_env
    user_id = known_shopper(build)
    project, warehouse_dir = build.project, build.warehouse.parent
    # outputs of the other parts of the system: Parquet exports and the serving bundle
    exports = warehouse_dir / "exports" / "parquet"
    serving = warehouse_dir / "serving"
    exports.mkdir(parents=True, exist_ok=True)
    serving.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(build.warehouse), read_only=True) as con:
        for table, folder in (
            ("marts.customers", exports),
            ("marts.campaign_audiences", exports),
            ("marts.recommendations", serving),
            ("marts.user_embeddings", serving),
        ):
            con.execute(
                f"copy (select * from {table}) to '{folder / table.split('.')[1]}.parquet' (format parquet)"
            )
    (serving / "manifest.json").write_text(json.dumps({"selected_model": "popularity"}))
    # and the API's impression log beside the warehouse: the shopper's answer and another's
    from amazing_analytics.serving.feedback import FeedbackLog

    log = FeedbackLog(warehouse_dir / "feedback")
    log.impression(user_id=user_id, items=[1, 2], model="sknn", build_id="b", route="r")
    log.impression(user_id=user_id + 1, items=[3], model="sknn", build_id="b", route="r")
    log.flush()
    customers_before = build.scalar("select count(*) from marts.customers")

    before = runner.invoke(app, ["gdpr", "verify", str(user_id), "--project", str(project)])
    assert before.exit_code == 1, before.output
    for place in ("warehouse", "exports", "serving", "marts.customers", "customers.parquet"):
        assert place in before.output, place
    assert "feedback" in before.output and "impressions" in before.output

    erase = runner.invoke(
        app, ["gdpr", "erase", str(user_id), "--rebuild", "--project", str(project)]
    )
    assert erase.exit_code == 0, erase.output
    assert "purged" in erase.output

    after = runner.invoke(app, ["gdpr", "verify", str(user_id), "--project", str(project)])
    assert after.exit_code == 0, after.output
    assert "no trace" in after.output

    # only the erased user is gone: the exports and the impression log keep everybody else
    logged = [
        json.loads(line)
        for path in (warehouse_dir / "feedback" / "impressions").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert [line["user_id"] for line in logged] == [user_id + 1]
    with duckdb.connect() as con:
        assert con.execute(
            f"select count(*) from read_parquet('{exports / 'customers.parquet'}')"
        ).fetchone() == (customers_before - 1,)
    # the rebuilt warehouse counts the user's lines as erased, and still reconciles
    checks = build.checks()
    user_lines = 0
    for path in sorted((Path(build.project).parent / "demo").glob("*.csv.gz")):
        with gzip.open(path, "rt", encoding="latin-1") as handle:
            next(handle)
            user_lines += sum(1 for raw in handle if str(user_id) in raw.rstrip("\r\n").split(","))
    assert checks["gdpr_erased_rows"] == user_lines > 0
    assert checks["unreconciled_rows"] == 0


def test_retention_drops_old_lines_at_staging_and_counts_them(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build]
) -> None:
    events_glob = write_dirty_files(tmp_path / "dirty")
    cutoff = dt.datetime(2019, 10, 3)  # one month before 2019-11-03

    def is_old(raw: bytes) -> bool:
        try:
            stamp = dt.datetime.strptime(raw.split(b",")[0].decode(), "%Y-%m-%d %H:%M:%S UTC")
        except ValueError:
            return False  # an unreadable time cannot be aged: it stays in the quarantine
        return stamp < cutoff

    old_lines = [raw for raw, _ in ALL_LINES if is_old(raw)]
    build = build_events(
        dbt_project,
        events_glob,
        "--vars",
        '{retention_months: 1, retention_reference_date: "2019-11-03"}',
    )
    checks = assert_reconciles(build, len(ALL_LINES))
    assert checks["retention_dropped_rows"] == len(old_lines) > 0
    assert checks["gdpr_erased_rows"] == 0
    assert build.scalar("select min(event_at) from staging.stg_events") >= cutoff
    # nothing old is kept in the quarantine either; the unparseable timestamp stays there
    reasons = [row[0] for row in build.query("select reject_reason from staging.events_quarantine")]
    assert reasons == ["invalid_event_time"]
    per_file = build.query(
        "select sum(retention_dropped_rows), sum(input_rows - clean_rows - quarantined_rows "
        "- duplicate_rows - gdpr_erased_rows - retention_dropped_rows) from marts.data_quality_by_file"
    )
    assert per_file == [(len(old_lines), 0)]


def test_the_register_mart_lists_every_personal_data_table_once_per_purpose(
    demo_build: Build, tmp_path: Path
) -> None:
    build = demo_build
    manifest = load_manifest(build.project / "target" / "manifest.json")
    rows = build.query(
        "select purpose, controller, data_protection_officer, relations, docs_links "
        "from marts.processing_register order by purpose"
    )
    with open(build.project / "seeds" / "processing_purposes.csv", newline="") as handle:
        assert [row[0] for row in rows] == sorted(r["purpose"] for r in csv.DictReader(handle))
    assert all(controller and dpo for _, controller, dpo, _, _ in rows)
    listed = {
        (purpose, relation)
        for purpose, _, _, relations, _ in rows
        for relation in (relations or "").split("; ")
        if relation
    }
    for table in personal_tables(manifest):
        for purpose in table.purposes:
            assert (purpose, table.label) in listed, (purpose, table.label)
    links = " ".join(row[4] or "" for row in rows)
    assert "target/index.html#!/model/model.amazing.customers" in links
    # the Markdown register says the same
    out = tmp_path / "register.md"
    result = runner.invoke(
        app, ["gdpr", "register", "--out", str(out), "--project", str(build.project)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    for table in personal_tables(manifest):
        assert (
            f"[{table.label}](../target/index.html#!/{table.resource_type}/{table.unique_id})"
            in text
        )
