"""The helpers every ML module and dbt Python model shares: guards, config, dbt logging, and the
warehouse checksums behind the identical-marts check."""

from __future__ import annotations

import ast
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from amazing_analytics import dbt_io
from amazing_analytics import mart_checksums as mc
from amazing_analytics.ml import guards, propensity, segmentation
from amazing_analytics.ml.recommend import data as recommend_data
from amazing_analytics.ml.recommend.build import lightfm_params
from conftest import REPO


def test_one_insufficient_data_error_and_one_column_guard() -> None:
    assert propensity.InsufficientDataError is guards.InsufficientDataError
    assert segmentation.InsufficientDataError is guards.InsufficientDataError
    assert recommend_data.MissingColumnsError is guards.MissingColumnsError
    table = pa.table({"a": [1], "b": [2]})
    guards.require_columns(table, ["a", "b"], "t")
    assert guards.missing_columns(table, ["c", "a", "d"]) == ["c", "d"]
    with pytest.raises(guards.MissingColumnsError, match=r"^t lacks column\(s\) c, d$"):
        guards.require_columns(table, ["c", "a", "d"], "t")
    with pytest.raises(KeyError, match="lacks column"):
        guards.require_columns(table, ["c"], "t", error=KeyError)


def test_lightfm_params_read_the_config_like_every_model() -> None:
    params = lightfm_params(
        components=" 8 ", epochs="2", learning_rate="0.1", item_alpha="1e-6", threads=1
    )
    assert (params.components, params.epochs, params.threads) == (8, 2, 1)
    assert params.learning_rate == 0.1 and params.user_alpha == params.item_alpha == 1e-6
    with pytest.raises(ValueError, match="model config 'epochs' is not set"):
        lightfm_params(components=8, epochs="", learning_rate=0.1, item_alpha=0, threads=1)
    with pytest.raises(ValueError, match="at least 1"):
        lightfm_params(components=0, epochs=1, learning_rate=0.1, item_alpha=0, threads=1)


def test_package_log_lines_reach_dbt_as_events(monkeypatch: pytest.MonkeyPatch) -> None:
    from dbt_common.events import functions
    from dbt_common.events.base_types import EventLevel

    fired: list[tuple[str, object]] = []
    monkeypatch.setattr(functions, "fire_event", lambda e, level=None: fired.append((e.msg, level)))
    package = logging.getLogger(dbt_io.PACKAGE_LOGGER)
    saved = (list(package.handlers), package.level, package.propagate)
    try:
        dbt_io.log_to_dbt()
        dbt_io.log_to_dbt()  # idempotent: one handler
        assert sum(isinstance(h, dbt_io.DbtLogHandler) for h in package.handlers) == 1
        logging.getLogger("amazing_analytics.ml.example").warning("too few rows: %d", 3)
        logging.getLogger("amazing_analytics.ml.example").info("fitted")
        logging.getLogger("amazing_analytics.ml.example").debug("not shown")
    finally:
        package.handlers[:] = saved[0]
        package.setLevel(saved[1])
        package.propagate = saved[2]
    assert fired == [
        ("amazing_analytics.ml.example: too few rows: 3", EventLevel.WARN),
        ("amazing_analytics.ml.example: fitted", EventLevel.INFO),
    ]


def _warehouse(path: Path, revenue: float, extra_row: bool = False) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts; create schema ml")
        con.execute(
            "create table marts.kpi as select * from (values (date '2020-01-01', 10, ?::double), "
            "(date '2020-01-02', 0, null)) t(d, orders, revenue)",
            [revenue],
        )
        con.execute("create view marts.kpi_view as select * from marts.kpi")
        con.execute("create table ml.model as select [0.5, 0.25]::double[] as vector")
        if extra_row:
            con.execute("insert into ml.model values ([1.0, 2.0])")
    return path


def test_checksums_tell_identical_float_noise_and_different_tables(tmp_path: Path) -> None:
    before = mc.warehouse_checksums(_warehouse(tmp_path / "a.duckdb", 100.1))
    assert sorted(before) == ["marts.kpi", "ml.model"]  # base tables only
    assert before["marts.kpi"].rows == 2
    same = mc.warehouse_checksums(_warehouse(tmp_path / "b.duckdb", 100.1))
    noise = mc.warehouse_checksums(_warehouse(tmp_path / "c.duckdb", 100.1 + 1e-12))
    other = mc.warehouse_checksums(_warehouse(tmp_path / "d.duckdb", 100.2, extra_row=True))
    assert mc.compare_checksums(before, same) == [
        ("marts.kpi", "marts.kpi", mc.IDENTICAL),
        ("ml.model", "ml.model", mc.IDENTICAL),
    ]
    assert mc.compare_checksums(before, noise)[0] == ("marts.kpi", "marts.kpi", mc.FLOAT_NOISE)
    assert [status for *_, status in mc.compare_checksums(before, other)] == [mc.DIFFERENT] * 2
    moved = {"marts.kpi_moved": same["marts.kpi"], "ml.model": same["ml.model"]}
    assert mc.compare_checksums(before, moved, {"marts.kpi": "marts.kpi_moved"})[0] == (
        "marts.kpi",
        "marts.kpi_moved",
        mc.IDENTICAL,
    )
    assert mc.compare_checksums(
        before, {"ml.model": same["ml.model"], "marts.new": noise["ml.model"]}
    ) == [
        ("marts.kpi", "marts.kpi", mc.MISSING),
        ("ml.model", "ml.model", mc.IDENTICAL),
        ("marts.new", "marts.new", "new"),
    ]
    mc.save(before, tmp_path / "before.json")
    assert mc.load(tmp_path / "before.json") == before
    with pytest.raises(FileNotFoundError):
        mc.warehouse_checksums(tmp_path / "missing.duckdb")


def test_bench_step_timer_records_each_step_even_when_it_fails() -> None:
    from amazing_analytics.bench import StepTimer, peak_rss_gb

    timer = StepTimer()
    with timer.step("sleep"):
        time.sleep(0.05)
    with pytest.raises(RuntimeError), timer.step("fails"):
        raise RuntimeError("boom")
    assert [step.name for step in timer.steps] == ["sleep", "fails"]
    assert timer.seconds("sleep") >= 0.05 and timer.steps[0].cpu_seconds < 0.05
    assert timer.total_seconds == pytest.approx(sum(step.seconds for step in timer.steps))
    assert 0 < timer.steps[0].peak_rss_gb <= peak_rss_gb()
    assert timer.table().splitlines()[0].startswith("step") and "total" in timer.table()
    with pytest.raises(KeyError):
        timer.seconds("never")


def test_bench_cpu_between_interpolates_the_sampled_cumulative_cpu() -> None:
    from amazing_analytics.bench import cpu_at, cpu_between

    # (unix time, cumulative CPU seconds): one core busy from 10 to 12, two from 12 to 13
    samples = [(10.0, 5.0), (12.0, 7.0), (13.0, 9.0)]
    assert cpu_at(samples, 12.0) == 7.0
    assert cpu_at(samples, 12.5) == pytest.approx(8.0)
    assert cpu_at(samples, 9.0) == 5.0 and cpu_at(samples, 20.0) == 9.0  # held beyond
    assert cpu_between(samples, 11.0, 12.5) == pytest.approx(2.0)  # 1 + 1 (two cores, 0.5 s)
    assert cpu_between(samples, 10.0, 13.0) == pytest.approx(4.0)
    assert cpu_between(samples, 13.0, 10.0) == 0.0  # a reversed window spends nothing
    assert cpu_between([], 10.0, 13.0) == 0.0


def test_read_arrow_dictionary_encodes_the_named_text_columns_as_they_stream() -> None:
    connection = duckdb.connect()
    connection.execute("set preserve_insertion_order = false")
    relation = connection.sql(
        "select case when range % 3 = 0 then 'serving' else 'evaluation_train' end as split, "
        "range as product_id from range(2500000)"  # several of DuckDB's Arrow batches
    )
    plain = dbt_io.read_arrow(relation)
    encoded = dbt_io.read_arrow(relation, dictionary=["split"])
    assert encoded.schema.field("split").type == pa.dictionary(pa.int32(), pa.string())
    assert encoded.column("split").num_chunks > 1
    assert encoded.schema.field("product_id").type == pa.int64()
    assert encoded.num_rows == plain.num_rows == 2_500_000
    as_text = encoded.set_column(0, "split", encoded.column("split").cast(pa.string()))
    assert as_text.sort_by("product_id").equals(plain.sort_by("product_id"))
    empty = dbt_io.read_arrow(relation.filter("product_id < 0"), dictionary=["split"])
    assert empty.num_rows == 0 and empty.schema.equals(encoded.schema)
    with pytest.raises(ValueError, match="cannot dictionary-encode 'segment'"):
        dbt_io.read_arrow(relation, dictionary=["segment"])


def test_release_memory_without_a_duckdb_session_trims_python_only(caplog) -> None:
    """A session with no DuckDB API (a Spark session on dbt-databricks, or none) is skipped with a
    debug line, never an error: the model goes on."""

    class SparkLikeSession:
        pass

    with caplog.at_level(logging.DEBUG, logger="amazing_analytics.dbt_io"):
        dbt_io.release_memory(SparkLikeSession())
        dbt_io.release_memory(None)
    assert [r.levelno for r in caplog.records] == [logging.DEBUG]
    assert "not released" in caplog.records[0].getMessage()


def test_read_arrow_encodes_a_relation_that_returns_a_whole_table() -> None:
    """Older DuckDB versions return a Table from relation.arrow(): encoded all the same."""

    class TableRelation:
        def arrow(self) -> pa.Table:
            return pa.table({"split": ["serving", "serving", "evaluation_train"], "x": [1, 2, 3]})

    table = dbt_io.read_arrow(TableRelation(), dictionary=["split"])
    assert table.schema.field("split").type == pa.dictionary(pa.int32(), pa.string())
    assert table.column("split").cast(pa.string()).to_pylist() == [
        "serving",
        "serving",
        "evaluation_train",
    ]


#: Two threads importing scikit-learn's narwhals from opposite ends of its import cycle, and the
#: packages that import it, as two Python models of a ``dbt build --threads 2`` do.
_CONCURRENT_IMPORTS = """
import sys, threading
{setup}
errors = []
def load(name):
    try:
        __import__(name)
    except Exception as error:
        errors.append(f"{{name}}: {{type(error).__name__}}: {{error}}")
names = ["narwhals.stable.v1", "sklearn", "narwhals.stable.v2", "xgboost"]
threads = [threading.Thread(target=load, args=(name,)) for name in names]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(errors)
print(sorted(name for name in ("sklearn", "xgboost", "statsforecast", "lightfm") if name in sys.modules))
"""


def _run_python(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return done.stdout.strip().splitlines()


def test_inside_dbt_the_model_packages_load_once_before_a_second_thread_imports_them() -> None:
    """dbt_io imports the ML packages when a dbt run imports it, so two models' threads find
    them loaded; outside dbt (the CLI, the API, the dashboard) it imports none of them."""
    inside = _run_python(
        _CONCURRENT_IMPORTS.format(setup="import dbt.cli.main\nimport amazing_analytics.dbt_io")
    )
    assert inside == ["[]", "['lightfm', 'sklearn', 'statsforecast', 'xgboost']"]
    outside = _run_python("import sys, amazing_analytics.dbt_io\nprint('sklearn' in sys.modules)")
    assert outside == ["False"]


def test_inside_dbt_openmp_threads_sleep_between_parallel_regions() -> None:
    """Inside dbt, libgomp (loaded with the ML packages) spins 0 times before a finished
    worker sleeps, by its own OMP_DISPLAY_ENV report; a policy the environment sets is kept;
    outside dbt libgomp keeps its default spin (300,000)."""

    def spin_count(setup: str, preset: str | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        env["OMP_DISPLAY_ENV"] = "VERBOSE"
        if preset:
            env["OMP_WAIT_POLICY"] = preset
        done = subprocess.run(
            [sys.executable, "-c", f"{setup}\nimport sklearn.cluster"],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        return re.findall(r"GOMP_SPINCOUNT = '(\d+)'", done.stderr)[0]

    inside = "import dbt.cli.main\nimport amazing_analytics.dbt_io"
    assert spin_count(inside) == "0"
    assert spin_count(inside, preset="ACTIVE") == "30000000000"
    assert spin_count("import amazing_analytics.dbt_io") == "300000"


def test_inside_dbt_blas_runs_on_one_thread_for_the_whole_run() -> None:
    """Inside dbt, importing dbt_io sets the process's BLAS threads to one and leaves it so
    (a product's last bits depend on the count, which scikit-learn's KMeans and top_k_dot
    change while another model computes); outside dbt the count is left as it was."""
    report = (
        "from threadpoolctl import threadpool_info, threadpool_limits\n"
        "blas = lambda: sorted({i['num_threads'] for i in threadpool_info() "
        "if i['user_api'] == 'blas'})\n"
        "import numpy\n"
        "print(blas())\n"
        "with threadpool_limits(1):\n"
        "    pass\n"
        "print(blas())"
    )
    inside = _run_python("import dbt.cli.main\nimport amazing_analytics.dbt_io\n" + report)
    assert inside == ["[1]", "[1]"]
    before = _run_python(report)
    outside = _run_python("import amazing_analytics.dbt_io\n" + report)
    assert outside == before


def test_inside_dbt_what_is_loaded_is_frozen_out_of_the_garbage_collectors_walks() -> None:
    """Inside dbt, importing dbt_io freezes what the run has loaded (dbt, the ML packages), so
    the collector's full collections no longer walk it; outside dbt nothing is frozen."""
    report = "import gc\nprint(gc.get_freeze_count() > 10_000, gc.get_freeze_count() > 0)"
    inside = _run_python("import dbt.cli.main\nimport amazing_analytics.dbt_io\n" + report)
    assert inside == ["True True"]
    outside = _run_python("import amazing_analytics.dbt_io\n" + report)
    assert outside == ["False False"]


def test_every_python_model_using_the_ml_package_imports_dbt_io_first() -> None:
    """The order dbt_io.MODEL_PACKAGES relies on: a model's first import of the package is
    dbt_io, so a second model's thread waits for dbt_io's loading instead of racing it."""
    late = []
    for path in sorted((REPO / "python_models").rglob("*.py")):
        ours = [
            name
            for node in ast.parse(path.read_text()).body
            for name in (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if name.startswith("amazing_analytics")
        ]
        uses_ml = any(name.startswith("amazing_analytics.ml") for name in ours)
        if uses_ml and ours[0] != "amazing_analytics.dbt_io":
            late.append(f"{path.relative_to(REPO)} (first: {ours[0]})")
    assert late == []


def test_bench_at_the_peak_names_the_nodes_running_when_memory_peaked() -> None:
    from amazing_analytics.bench import at_the_peak

    # (unix time, bytes, CPU): the peak at 12.0 (its first sample, 12.8 peaks as high)
    samples = [(10.0, 100, 0.0), (12.0, 900, 1.0), (12.8, 900, 2.0), (13.0, 400, 3.0)]
    windows = [("a", 9.0, 11.0), ("b", 11.5, 12.5), ("c", 12.1, 14.0), ("d", 12.3, 13.0)]
    # c starts 0.1 s after the sample: inside the sampling slack; d 0.3 s after: not
    assert at_the_peak(samples, windows) == (12.0, 900, ["b", "c"])
    assert at_the_peak(samples, windows, slack=0.0) == (12.0, 900, ["b"])
    assert at_the_peak([], windows) == (0.0, 0.0, [])
