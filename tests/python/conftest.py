"""Shared fixtures: dbt builds in a throw-away copy of the project, one warehouse per build."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_REES46 = REPO.parent / "shared" / "data" / "rees46"
PROJECT_PARTS = (
    "dbt_project.yml",
    "profiles.yml",
    "models",
    "python_models",
    "macros",
    "seeds",
    "tests",
)


def dbt_executable() -> str:
    """The dbt of the interpreter running the tests (the project's .venv under `make test`)."""
    candidate = Path(sys.executable).parent / "dbt"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("dbt")
    if found is None:  # pragma: no cover - a broken install
        raise RuntimeError("dbt is not installed next to this Python; run `make install`")
    return found


@dataclass
class Build:
    """A finished `dbt build`: its warehouse, exit code and log."""

    project: Path
    warehouse: Path
    returncode: int
    output: str

    def query(self, sql: str, params: object = None) -> list[tuple]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute(sql, params).fetchall()

    def scalar(self, sql: str, params: object = None) -> object:
        return self.query(sql, params)[0][0]

    def checks(self) -> dict[str, int]:
        return dict(self.query("select check_name, rows_affected from marts.data_quality_report"))


def copy_project(destination: Path) -> Path:
    destination.mkdir(parents=True, exist_ok=True)
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, destination / part)
        elif source.exists():
            shutil.copy2(source, destination / part)
    return destination


def run_dbt(project: Path, events_glob: str, *args: str, warehouse: Path | None = None) -> Build:
    """`dbt <args>` in ``project``; the warehouse file defaults to project/warehouse/test.duckdb."""
    warehouse = warehouse or project / "warehouse" / "test.duckdb"
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AMAZING_WAREHOUSE": str(warehouse),
        "AMAZING_EVENTS_PATH": events_glob,
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DBT_USE_COLORS": "false",
    }
    completed = subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return Build(project, warehouse, completed.returncode, completed.stdout + completed.stderr)


@pytest.fixture
def dbt_project(tmp_path: Path) -> Path:
    """A fresh copy of the dbt project, so a test may edit its seeds without touching the repo."""
    return copy_project(tmp_path / "project")


@pytest.fixture
def build_events() -> Callable[..., Build]:
    """`build_events(project, glob)` runs `dbt build` and fails the test with the log if it fails."""

    def _build(project: Path, events_glob: str, *extra: str) -> Build:
        result = run_dbt(project, events_glob, "build", *extra)
        assert result.returncode == 0, result.output[-6000:]
        return result

    return _build


@pytest.fixture(scope="session")
def shared_excerpts() -> Iterator[list[Path]]:
    if not SHARED_REES46.is_dir():
        pytest.skip(f"real REES46 excerpts not found at {SHARED_REES46} (../shared is absent here)")
    files = sorted(SHARED_REES46.glob("*.csv.gz"))
    if not files:
        pytest.skip(f"no *.csv.gz excerpts in {SHARED_REES46}")
    yield files


@pytest.fixture(scope="session")
def dirty_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """One `dbt build` + `dbt docs generate` of the hand-made dirty files, shared read-only by
    the exports, contracts, exposures and governance tests."""
    from test_warehouse_e2e import write_dirty_files

    root = tmp_path_factory.mktemp("dirty_build")
    events_glob = write_dirty_files(root / "dirty")
    project = copy_project(root / "project")
    build = run_dbt(project, events_glob, "build")
    assert build.returncode == 0, build.output[-6000:]
    docs = run_dbt(project, events_glob, "docs", "generate")
    assert docs.returncode == 0, docs.output[-4000:]
    return build


class InlineExecutor:
    """A stand-in for ``ThreadPoolExecutor`` that runs each task at once on the caller's
    thread: what a model runs beside its own work, done one after the other instead."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def __enter__(self) -> InlineExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Callable, *iterables: Iterable) -> Iterator:
        return iter([fn(*args) for args in zip(*iterables, strict=True)])

    def submit(self, fn: Callable, /, *args: object, **kwargs: object) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:
            future.set_exception(error)
        return future


@pytest.fixture
def run_inline(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """``run_inline()``: from then on, what the recommenders run in a second thread
    (``ml.recommend.threads``: the evaluations' fits beside their work, the chunks scored two at
    a time) runs on the calling thread, one task after the other (to compare the concurrent path
    with the sequential one)."""
    from amazing_analytics.ml.recommend import threads

    return lambda: monkeypatch.setattr(threads, "ThreadPoolExecutor", InlineExecutor)
