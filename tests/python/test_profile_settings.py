"""The DuckDB settings of profiles.yml, through dbt-duckdb's own connection set-up."""

from __future__ import annotations

import os
import threading
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


def _held_mb(session, tag: str) -> float:
    """What DuckDB holds under one tag of duckdb_memory()."""
    return session.execute(
        f"select sum(memory_usage_bytes) / 1e6 from duckdb_memory() where tag = '{tag}'"
    ).fetchall()[0][0]


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
    assert _cached_mb(session) <= 32.1  # down to RELEASE_HEADROOM (32 MB): nothing else is held
    dbt_io.release_memory(session)  # a model can release more than once (stream_arrow does)
    cap = session.execute("select current_setting('memory_limit')").fetchall()[0][0]
    # DuckDB shows the cap rounded down to 0.1 GiB; set back half a step above that, it shows
    # the same however often it is released (set back as shown, it lost 0.1 GiB each time)
    assert cap == profile_cap
    # what was read is untouched (the profile does not preserve insertion order: sum, not rows)
    assert pc.sum(table.column("i")).as_py() == 8_000_000 * 7_999_999 // 2

    following = Environment.initialize_cursor(credentials, connection.cursor())
    assert (
        following.execute("select current_setting('memory_limit')").fetchall()[0][0] == profile_cap
    )
    connection.close()


class _PausingSession:
    """A DuckDB cursor that, once it has lowered the memory limit, waits (at most ``pause``
    seconds) for ``other_read`` before it goes on: the moment a second model's release_memory
    reads the limit, in a build with two dbt threads."""

    def __init__(self, cursor, lowered: threading.Event, other_read: threading.Event, pause: float):
        self.cursor, self.lowered, self.other_read, self.pause = cursor, lowered, other_read, pause

    def execute(self, sql: str):
        result = self.cursor.execute(sql)
        if sql.startswith("set memory_limit") and sql.endswith(" bytes'"):  # the lowering
            self.lowered.set()
            self.other_read.wait(self.pause)
        return result


class _ReadingSession:
    """A DuckDB cursor that says when it has read the memory limit."""

    def __init__(self, cursor, read: threading.Event):
        self.cursor, self.read = cursor, read

    def execute(self, sql: str):
        result = self.cursor.execute(sql)
        if "current_setting('memory_limit')" in sql:
            self.read.set()
        return result


def test_two_models_releasing_at_once_leave_the_profiles_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two dbt threads, two Python models can call release_memory at the same moment, on
    two cursors of one database (the limit is the database's). The second must not read the
    first one's lowered limit and then 'restore' it: the rest of the build would run in 32MB.
    Here the second reads while the first holds the limit lowered."""
    credentials = _warehouse_of_numbers(tmp_path, monkeypatch)
    connection = Environment.initialize_db(credentials)
    first = Environment.initialize_cursor(credentials, connection.cursor())
    second = Environment.initialize_cursor(credentials, connection.cursor())
    profile_cap = first.execute("select current_setting('memory_limit')").fetchall()[0][0]
    lowered, second_read = threading.Event(), threading.Event()
    releasing = threading.Thread(
        target=dbt_io.release_memory,
        args=(_PausingSession(first, lowered, second_read, pause=1.0),),
    )
    releasing.start()
    assert lowered.wait(5), "the first model never lowered the limit"
    dbt_io.release_memory(_ReadingSession(second, second_read))
    releasing.join(5)
    assert not releasing.is_alive()
    after = connection.cursor().execute("select current_setting('memory_limit')").fetchall()[0][0]
    assert after == profile_cap, f"the cap was left at {after}"
    connection.close()


def test_release_leaves_what_a_model_beside_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With two dbt threads a model may hold memory beside the one releasing (here a temporary
    table of 5M rows on another cursor). The release drops DuckDB's cached table blocks and
    leaves that memory where it is; lowered to a flat 32 MB, the limit pushed it to disk (and
    made queries running beside it fail for want of memory)."""
    credentials = _warehouse_of_numbers(tmp_path, monkeypatch)
    connection = Environment.initialize_db(credentials)
    beside = Environment.initialize_cursor(credentials, connection.cursor())
    beside.execute("create temp table held as select range as i, random() as r from range(5000000)")
    session = Environment.initialize_cursor(credentials, connection.cursor())
    session.sql("select * from numbers").to_arrow_table()
    held_before = _held_mb(session, "IN_MEMORY_TABLE")
    assert held_before > 60 and _cached_mb(session) > 30
    dbt_io.release_memory(session)
    assert _cached_mb(session) <= 32.1
    assert _held_mb(session, "IN_MEMORY_TABLE") == held_before
    assert beside.execute("select count(*) from held").fetchall()[0][0] == 5_000_000
    connection.close()


class _FailingSetBack:
    """A DuckDB cursor on which setting the limit back fails ``failures`` times, as it did for
    want of memory while a query beside it held all of the lowered limit."""

    def __init__(self, cursor, failures: int):
        self.cursor, self.failures = cursor, failures

    def execute(self, sql: str):
        if sql.startswith("set memory_limit") and not sql.endswith(" bytes'") and self.failures:
            self.failures -= 1
            raise RuntimeError("Out of Memory Error: failed to allocate data of size 2.0 KiB")
        return self.cursor.execute(sql)


def test_setting_the_limit_back_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A failed set-back is tried again, so the rest of the build does not run in 32 MB; if it
    never succeeds, the release says so at WARNING (the next model's cursor has the profile's
    value again)."""
    credentials = _warehouse_of_numbers(tmp_path, monkeypatch)
    connection = Environment.initialize_db(credentials)
    cursor = Environment.initialize_cursor(credentials, connection.cursor())
    profile_cap = cursor.execute("select current_setting('memory_limit')").fetchall()[0][0]
    dbt_io.release_memory(_FailingSetBack(cursor, failures=3))
    assert cursor.execute("select current_setting('memory_limit')").fetchall()[0][0] == profile_cap

    monkeypatch.setattr(dbt_io, "RESTORE_ATTEMPTS", 2)
    with caplog.at_level("WARNING", logger="amazing_analytics"):
        dbt_io.release_memory(_FailingSetBack(cursor, failures=2))
    assert "could not be set back" in caplog.text
    lowered = cursor.execute("select current_setting('memory_limit')").fetchall()[0][0]
    assert lowered.endswith("MiB")
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
