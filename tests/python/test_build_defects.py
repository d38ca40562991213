"""Regression tests for the defects found by building the project on other data (issue 9 §3):
a warehouse path that is not a bare SQL identifier, unit tests under overridden vars, the
event-time window named in the data-quality report, and a build on a subset of the demo months.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Build, copy_project, run_dbt
from test_warehouse_e2e import ALL_LINES, assert_reconciles, write_dirty_files

#: Every var the dbt unit tests rely on, set far from its default: the unit tests pin their own.
OVERRIDDEN_VARS = (
    "{min_valid_event_time: '1990-01-01', max_valid_event_time: '2019-10-01', "
    "max_valid_price: 1, session_timeout_minutes: 5, max_session_duration_hours: 100, "
    "performance_window_days: 7, performance_star_top_share: 0.5, "
    "performance_low_conversion_ratio: 0.01, performance_falling_revenue_change: -0.9}"
)


@pytest.fixture(scope="module")
def hyphen_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """One `dbt build` of the dirty files into `warehouse/my-shop dir/my-shop.duckdb`."""
    root = tmp_path_factory.mktemp("hyphen")
    project = copy_project(root / "project")
    events_glob = write_dirty_files(root / "dirty")
    warehouse = project / "warehouse" / "my-shop dir" / "my-shop.duckdb"
    build = run_dbt(project, events_glob, "build", warehouse=warehouse)
    assert build.returncode == 0, build.output[-6000:]
    return build


def test_a_warehouse_path_with_a_hyphen_and_a_space_builds(hyphen_build: Build) -> None:
    assert hyphen_build.warehouse.name == "my-shop.duckdb" and hyphen_build.warehouse.exists()
    assert_reconciles(hyphen_build, len(ALL_LINES))
    # the unreadable lines went through base_events_rejected_lines (the relation once unquoted)
    unreadable = hyphen_build.scalar(
        "select count(*) from staging.events_quarantine where reject_reason = 'malformed_line'"
    )
    assert unreadable > 0


def test_the_data_quality_report_names_the_event_time_window_vars(hyphen_build: Build) -> None:
    rows_affected, action, description = hyphen_build.query(
        "select rows_affected, action_taken, description from marts.data_quality_report "
        "where check_name = 'quarantine_invalid_event_time'"
    )[0]
    assert rows_affected > 0  # the 1999 event and the bad timestamps, kept out by default
    for var in ("min_valid_event_time", "max_valid_event_time"):
        assert var in action and var in description
    assert "2000-01-01" in description


def test_unit_tests_pin_the_vars_they_rely_on(hyphen_build: Build) -> None:
    result = run_dbt(
        hyphen_build.project,
        "unused",
        "test",
        "--select",
        "test_type:unit",
        "--vars",
        OVERRIDDEN_VARS,
        warehouse=hyphen_build.warehouse,
    )
    assert result.returncode == 0, result.output[-6000:]
    assert "test_quarantine_reasons_and_imputations" in result.output
    assert "test_exact_duplicate_sessionless_events_share_one_session" in result.output


def test_a_build_on_the_first_three_demo_months_alone(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build]
) -> None:
    from amazing_analytics.generate import generate_events

    generate_events(40_000, 42, tmp_path / "demo")
    months = sorted(tmp_path.joinpath("demo").glob("2019-*.csv.gz"))
    assert [path.name for path in months] == [
        "2019-Dec.csv.gz",
        "2019-Nov.csv.gz",
        "2019-Oct.csv.gz",
    ]
    build = build_events(dbt_project, str(tmp_path / "demo" / "2019-*.csv.gz"))
    assert build.scalar("select max(event_date) from staging.stg_events").month == 12
    duplicated = build.scalar(
        "select count(*) from (select event_id from staging.base_events_derived_sessions "
        "group by event_id having count(*) > 1)"
    )
    assert duplicated == 0
