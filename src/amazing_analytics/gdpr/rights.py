"""Erasure (art. 17), its proof, and objection (art. 21), over the seeds, the live lists, the
warehouse, the Parquet exports, the serving bundle, the API's impression and feedback logs and
the docs artifacts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from amazing_analytics.gdpr import feedback_logs, lists
from amazing_analytics.gdpr.errors import GdprError, WarehouseBusyError
from amazing_analytics.gdpr.metadata import (
    Locations,
    is_lock_error,
    load_manifest,
    open_warehouse,
    personal_tables,
)
from amazing_analytics.gdpr.traces import (
    Trace,
    find_in_files,
    find_in_text,
    find_in_warehouse,
    purge_files,
)

#: The serving bundle's copy of the erasure list: the API must keep knowing the id is erased, so
#: it is kept by obligation like the seed (issue 11 writes it; the next build writes it again).
BUNDLE_ERASURE_LIST = "erasure_requests.parquet"
#: Earlier bundles the API may still have open beside the served one (serving/bundle/writer.py).
BUNDLE_BUILDS_DIR = ".serving-builds"


def bundle_roots(locations: Locations) -> list[Path]:
    """Where serving bundles are: the served one and every build kept beside it. When `serving`
    is a symlink into the builds folder, the builds folder alone covers both."""
    builds = locations.serving_dir.parent / BUNDLE_BUILDS_DIR
    roots = (
        [] if locations.serving_dir.is_symlink() and builds.is_dir() else [locations.serving_dir]
    )
    if builds.is_dir():
        roots.append(builds)
    return roots


@dataclass
class ErasureResult:
    user_id: int
    recorded_in_seed: bool
    recorded_in_live_list: bool
    opt_outs_removed: list[str] = field(default_factory=list)
    purged: dict[str, int] = field(default_factory=dict)


def rebuild_command(locations: Locations) -> str:
    """The one command that rebuilds the warehouse and its docs without the erased users."""
    if (locations.project / "Makefile").exists():
        return "make build docs"
    return "dbt build && dbt docs generate"


def record_erasure(
    locations: Locations, user_id: int, reference: str | None = None
) -> ErasureResult:
    """Put the user on the erasure list (seed and live list), take them off the objection lists
    (nothing is left to object to), and purge the Parquet exports and the serving bundle."""
    requested_at = lists.now_text()
    reference = reference or f"CLI-{requested_at[:10]}-{user_id}"
    result = ErasureResult(
        user_id=user_id,
        recorded_in_seed=lists.add(
            lists.erasure_seed(locations.seeds_dir),
            user_id,
            {"requested_at": requested_at, "request_reference": reference},
        ),
        recorded_in_live_list=lists.add(
            lists.erasure_live(locations.live_dir), user_id, {"requested_at": requested_at}
        ),
    )
    for list_file in (
        lists.opt_out_seed(locations.seeds_dir),
        lists.opt_out_live(locations.live_dir),
    ):
        if lists.remove(list_file, user_id):
            result.opt_outs_removed.append(str(list_file.path))
    result.purged.update(purge_files(locations.exports_dir, user_id))
    for root in bundle_roots(locations):
        purged = purge_files(root, user_id, keep_names=(BUNDLE_ERASURE_LIST,))
        result.purged.update(purged)
        # each build's manifest keeps row counts and digests that match its rewritten files
        from amazing_analytics.serving.bundle import refresh_manifest

        for build in sorted({Path(path).parent for path in purged}):
            refresh_manifest(build, [Path(path) for path in purged])
    result.purged.update(feedback_logs.purge_user(locations.feedback_dir, user_id))
    return result


def run_rebuild(locations: Locations) -> str:
    """dbt build, then dbt docs generate, in the project; returns the log tail. Raises
    WarehouseBusyError when another build holds the warehouse, GdprError when the build fails."""
    dbt = Path(sys.executable).parent / "dbt"
    executable = str(dbt) if dbt.exists() else shutil.which("dbt")
    if executable is None:
        raise GdprError("dbt is not installed: run `make install`")
    env = {
        **os.environ,
        "AMAZING_WAREHOUSE": str(locations.warehouse),
        "DBT_PROFILES_DIR": os.environ.get("DBT_PROFILES_DIR", str(locations.project)),
    }
    locations.warehouse.parent.mkdir(parents=True, exist_ok=True)
    log = ""
    for command in (["build"], ["docs", "generate"]):
        completed = subprocess.run(
            [executable, *command, "--project-dir", str(locations.project)],
            cwd=locations.project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        output = completed.stdout + completed.stderr
        log = output[-3000:]
        if completed.returncode != 0:
            if is_lock_error(RuntimeError(output)):
                raise WarehouseBusyError(
                    f"the warehouse {locations.warehouse} is in use by another process "
                    "(a dbt build is running): the request is recorded; rebuild when it has finished"
                )
            # the first errors say why; the tail what was left (e.g. the after-run GDPR check)
            errors = [line for line in output.splitlines() if "error" in line.lower()][:15]
            raise GdprError(
                f"`dbt {' '.join(command)}` failed:\n" + "\n".join(errors) + f"\n...\n{log[-1500:]}"
            )
    return log


@dataclass
class Verification:
    user_id: int
    traces: list[Trace]
    kept_by_obligation: list[str]
    erasure_requested: bool

    @property
    def clean(self) -> bool:
        return not self.traces


def verify(locations: Locations, user_id: int) -> Verification:
    """Every place that still holds the person, beside the erasure lists themselves."""
    kept: list[str] = []
    tables = personal_tables(load_manifest(locations.manifest))
    erasure_lists = [table for table in tables if table.is_erasure_list]
    traces: list[Trace] = []
    with open_warehouse(locations.warehouse) as connection:
        traces += find_in_warehouse(
            connection, user_id, tables, exclude=[table.label for table in erasure_lists]
        )
    for list_file in (
        lists.opt_out_seed(locations.seeds_dir),
        lists.opt_out_live(locations.live_dir),
    ):
        if lists.contains(list_file, user_id):
            traces.append(Trace("lists", str(list_file.path), 1))
    traces += find_in_files(locations.exports_dir, user_id, "exports")
    for root in bundle_roots(locations):
        for trace in find_in_files(root, user_id, "serving"):
            if Path(trace.location).name == BUNDLE_ERASURE_LIST:
                kept.append(trace.location)
            else:
                traces.append(trace)
    logged = feedback_logs.find_user_rows(locations.feedback_dir, user_id)
    traces += [Trace("feedback", path, rows) for path, rows in logged.files.items()]
    for artifact in locations.docs_artifacts:
        if artifact.exists():
            found = find_in_text(artifact, user_id)
            if found:
                traces.append(Trace("docs", str(artifact), found))
    seed, live = lists.erasure_seed(locations.seeds_dir), lists.erasure_live(locations.live_dir)
    kept += [str(item.path) for item in (seed, live) if lists.contains(item, user_id)]
    return Verification(
        user_id=user_id,
        traces=traces,
        kept_by_obligation=kept,
        erasure_requested=bool(kept),
    )


def opt_out(locations: Locations, user_id: int) -> tuple[bool, bool]:
    """Objection to personalisation: the live list (the API, at once) and the seed (next build)."""
    opted_out_at = lists.now_text()
    live = lists.add(
        lists.opt_out_live(locations.live_dir), user_id, {"opted_out_at": opted_out_at}
    )
    seed = lists.add(
        lists.opt_out_seed(locations.seeds_dir), user_id, {"opted_out_at": opted_out_at}
    )
    lists.ensure_exists(lists.erasure_live(locations.live_dir))
    return live, seed


def opt_in(locations: Locations, user_id: int) -> tuple[bool, bool]:
    """Withdraw the objection from both lists."""
    live = lists.remove(lists.opt_out_live(locations.live_dir), user_id)
    seed = lists.remove(lists.opt_out_seed(locations.seeds_dir), user_id)
    return live, seed
