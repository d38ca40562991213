"""The `amazing` CLI: generate, summary and their error paths (typer's CliRunner)."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from amazing_analytics.cli import app

runner = CliRunner()


def test_generate_writes_monthly_files_and_ground_truth(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["generate", "--events", "5000", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in out.glob("*.csv.gz"))
    assert files == sorted(
        [
            "2019-Oct.csv.gz",
            "2019-Nov.csv.gz",
            "2019-Dec.csv.gz",
            "2020-Jan.csv.gz",
            "2020-Feb.csv.gz",
            "2020-Mar.csv.gz",
            "2020-Apr.csv.gz",
        ]
    )
    assert (out / "ground_truth" / "user_personas.csv").exists()
    with gzip.open(out / "2019-Oct.csv.gz", "rt") as handle:
        assert handle.readline().strip() == (
            "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
        )
    assert "wrote" in result.output and "events" in result.output


def test_generate_rejects_bad_arguments_with_a_clear_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["generate", "--events", "10", "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    assert "error" in result.output.lower()
    assert "Traceback" not in result.output


def test_summary_without_a_warehouse_says_what_to_do(tmp_path: Path) -> None:
    result = runner.invoke(app, ["summary", "--warehouse", str(tmp_path / "none.duckdb")])
    assert result.exit_code == 2
    assert "make demo" in result.output


def test_summary_lists_marts_and_the_reconciliation(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts; create schema staging")
        con.execute("create table marts.orders as select range as order_id from range(3)")
        con.execute(
            "create table marts.data_quality_report as select * from (values "
            "('input_rows', 10, 1), ('clean_rows', 8, 2), ('quarantined_rows', 1, 3), "
            "('duplicate_rows', 1, 4), ('gdpr_erased_rows', 0, 5), ('unreconciled_rows', 0, 6), "
            "('brand_missing', 4, 20)) t(check_name, rows_affected, sort_order)"
        )
    result = runner.invoke(app, ["summary", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert "marts.orders" in result.output and "3" in result.output
    assert "marts.sessions" in result.output and "missing" in result.output
    assert "unreconciled_rows" in result.output
    assert "brand_missing" not in result.output


def test_export_writes_the_parquet_files_and_fails_clearly_without_a_warehouse(
    tmp_path: Path,
) -> None:
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.orders as select range as order_id from range(3)")
    out = tmp_path / "exports"
    result = runner.invoke(app, ["export", "--warehouse", str(warehouse), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "parquet" / "orders.parquet").exists()
    assert (out / "powerbi" / "orders.pq").exists()
    assert "orders" in result.output and "3" in result.output

    missing = runner.invoke(app, ["export", "--warehouse", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 2
    assert "make build" in missing.output and "Traceback" not in missing.output
