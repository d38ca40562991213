"""The DuckDB settings of profiles.yml, through dbt-duckdb's own connection set-up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.environments import Environment
from dbt.config.renderer import ProfileRenderer
from dbt_common.context import set_invocation_context

REPO = Path(__file__).resolve().parents[2]


def _credentials(target: str) -> DuckDBCredentials:
    set_invocation_context(os.environ)  # what dbt does before it renders env_var()
    raw = yaml.safe_load((REPO / "profiles.yml").read_text())["amazing"]["outputs"][target]
    rendered = ProfileRenderer({}).render_data(raw)
    rendered.pop("type")
    rendered.pop("threads")
    return DuckDBCredentials.from_dict({**rendered, "schema": "main"})


@pytest.mark.parametrize(
    ("target", "warehouse_variable"),
    [("dev", "AMAZING_WAREHOUSE"), ("test", "AMAZING_TEST_WAREHOUSE")],
)
def test_a_new_cursor_after_a_spill_keeps_the_spill_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: str, warehouse_variable: str
) -> None:
    """dbt-duckdb runs the profile's `settings` on every new cursor. Once a query has spilled,
    DuckDB refuses `SET temp_directory`, even to the same directory: a build large enough to
    spill (10M events at the default 3GB) failed at the next model. The spill directory is a
    database option instead, and each new cursor still gets the memory cap."""
    monkeypatch.delenv("AMAZING_TEMP_DIRECTORY", raising=False)
    monkeypatch.setenv(warehouse_variable, str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("AMAZING_MEMORY_LIMIT", "60MB")
    credentials = _credentials(target)
    connection = Environment.initialize_db(credentials)
    first = Environment.initialize_cursor(credentials, connection.cursor())
    first.execute("create table numbers as select range as i, random() as r from range(5000000)")
    first.execute("create table ordered as select * from numbers order by r")
    assert any((tmp_path / "w.duckdb.tmp").iterdir()), "the sort did not spill"

    second = Environment.initialize_cursor(credentials, connection.cursor())
    spill, cap = second.execute(
        "select current_setting('temp_directory'), current_setting('memory_limit')"
    ).fetchone()
    assert spill == str(tmp_path / "w.duckdb.tmp")
    assert cap.endswith("MiB") and float(cap.split()[0]) < 61
    connection.close()
