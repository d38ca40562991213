"""The DuckDB settings of profiles.yml, through dbt-duckdb's own connection set-up."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import yaml
from dbt.adapters.duckdb.credentials import DuckDBCredentials
from dbt.adapters.duckdb.environments import Environment
from dbt.config.renderer import ProfileRenderer
from dbt_common.context import set_invocation_context

from amazing_analytics import dbt_io

REPO = Path(__file__).resolve().parents[2]


def _credentials(target: str) -> DuckDBCredentials:
    set_invocation_context(os.environ)  # what dbt does before it renders env_var()
    raw = yaml.safe_load((REPO / "profiles.yml").read_text())["amazing"]["outputs"][target]
    rendered = ProfileRenderer({}).render_data(raw)
    rendered.pop("type")
    rendered.pop("threads")
    return DuckDBCredentials.from_dict({**rendered, "schema": "main"})


def _warehouse_of_numbers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> DuckDBCredentials:
    """The dev profile on a warehouse of 8M random numbers (DuckDB's cap 2 GB), its credentials."""
    monkeypatch.setenv("AMAZING_WAREHOUSE", str(tmp_path / "w.duckdb"))
    monkeypatch.setenv("AMAZING_MEMORY_LIMIT", "2GB")
    credentials = _credentials("dev")
    connection = Environment.initialize_db(credentials)
    setup = Environment.initialize_cursor(credentials, connection.cursor())
    setup.execute("create table numbers as select range as i, random() as r from range(8000000)")
    setup.execute("checkpoint")
    connection.close()
    return credentials


def _cached_mb(session) -> float:
    """What DuckDB's buffer pool holds of tables' blocks."""
    return session.execute(
        "select sum(memory_usage_bytes) / 1e6 from duckdb_memory() where tag = 'BASE_TABLE'"
    ).fetchall()[0][0]


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
    first.execute("create table numbers as select range as i, random() as r from range(8000000)")
    first.execute("create table ordered as select * from numbers order by r")
    assert any((tmp_path / "w.duckdb.tmp").iterdir()), "the sort did not spill"

    second = Environment.initialize_cursor(credentials, connection.cursor())
    spill, cap = second.execute(
        "select current_setting('temp_directory'), current_setting('memory_limit')"
    ).fetchone()
    assert spill == str(tmp_path / "w.duckdb.tmp")
    assert cap.endswith("MiB") and float(cap.split()[0]) < 61
    connection.close()


def test_release_memory_empties_duckdbs_cache_and_the_next_cursor_has_the_profiles_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Python model calls release_memory(session) after reading its inputs: DuckDB's cached
    blocks of what it read are dropped (they are on disk), the cap stays about the profile's for
    the rest of the model, and the next model's cursor gets the profile's own value again."""
    credentials = _warehouse_of_numbers(tmp_path, monkeypatch)
    connection = Environment.initialize_db(credentials)
    session = Environment.initialize_cursor(credentials, connection.cursor())
    profile_cap = session.execute("select current_setting('memory_limit')").fetchall()[0][0]
    table = session.sql("select * from numbers").to_arrow_table()
    assert table.num_rows == 8_000_000
    assert _cached_mb(session) > 30  # 8M rows read (compressed on disk): cached by the buffer pool
    dbt_io.release_memory(session)
    assert _cached_mb(session) <= 32.1  # down to RELEASE_LIMIT (32MB), what it evicts to
    cap = session.execute("select current_setting('memory_limit')").fetchall()[0][0]
    # DuckDB shows the cap to 0.1 GiB: restored from that text, it is at most 0.1 GiB lower
    assert cap.endswith("GiB") and 0 <= float(profile_cap.split()[0]) - float(cap.split()[0]) < 0.15
    # what was read is untouched (the profile does not preserve insertion order: sum, not rows)
    assert pc.sum(table.column("i")).as_py() == 8_000_000 * 7_999_999 // 2

    following = Environment.initialize_cursor(credentials, connection.cursor())
    assert (
        following.execute("select current_setting('memory_limit')").fetchall()[0][0] == profile_cap
    )
    connection.close()


def test_stream_arrow_reads_batch_by_batch_then_releases_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stream_arrow hands the rows over batch by batch; once the last one is read the result is
    closed (the session takes queries again) and the blocks the scan cached are dropped."""
    credentials = _warehouse_of_numbers(tmp_path, monkeypatch)
    connection = Environment.initialize_db(credentials)
    session = Environment.initialize_cursor(credentials, connection.cursor())
    stream = dbt_io.stream_arrow(session.table("numbers").filter("r >= 0"), session)
    assert isinstance(stream, pa.RecordBatchReader)
    rows = total = batches = 0
    for batch in stream:
        batches += 1
        rows += batch.num_rows
        total += pc.sum(batch.column("i")).as_py()
    assert rows == 8_000_000 and batches > 1
    assert total == 8_000_000 * 7_999_999 // 2
    assert _cached_mb(session) <= 32.1  # released once the stream was read to its end
    assert session.execute("select count(*) from numbers").fetchall()[0][0] == 8_000_000
    connection.close()
