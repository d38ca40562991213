"""The project's generic dbt tests (macros/generic_tests.sql) fail on the rows they exist to
catch: duplicates planted in a built warehouse."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from conftest import Build, copy_project, run_dbt

PAIRS = "intermediate.int_product_cooccurrence"


def test_unique_combination_one_pass_per_split_finds_every_duplicate(
    dirty_build: Build, tmp_path: Path
) -> None:
    """int_product_cooccurrence's uniqueness test groups one split at a time
    (``one_pass_per: split``): a pair twice in one split fails it, and so does a pair twice
    without a split; the same pair once in each split does not."""
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy2(dirty_build.warehouse, warehouse)
    with duckdb.connect(str(warehouse)) as con:
        clean = con.execute(f"select count(*) from {PAIRS}").fetchall()[0][0]
        con.execute(
            f"insert into {PAIRS} (split, product_id, other_product_id, session_count) values "
            "('serving', -1, -2, 1), ('serving', -1, -2, 1), "  # twice in one split
            "('serving', -3, -4, 1), ('evaluation_train', -3, -4, 1), "  # once in each split
            "(null, -5, -6, 1), (null, -5, -6, 1), (null, -5, -6, 1)"  # thrice without a split
        )
    project = copy_project(tmp_path / "project")
    result = _uniqueness_test(project, warehouse)
    assert result.returncode == 1, result.output[-3000:]
    assert "Got 2 results" in result.output, result.output[-3000:]
    with duckdb.connect(str(warehouse)) as con:
        con.execute(f"delete from {PAIRS} where product_id < 0")
        assert con.execute(f"select count(*) from {PAIRS}").fetchall()[0][0] == clean
    passed = _uniqueness_test(project, warehouse)
    assert passed.returncode == 0, passed.output[-3000:]


def _uniqueness_test(project: Path, warehouse: Path) -> Build:
    """`dbt test` of int_product_cooccurrence's uniqueness test alone, on ``warehouse``."""
    return run_dbt(
        project,
        str(project / "no-files" / "*.csv.gz"),
        "test",
        "--select",
        "int_product_cooccurrence,test_name:unique_combination_of_columns",
        warehouse=warehouse,
    )
