"""`amazing gdpr ...`: the data subjects' rights as commands (docs/gdpr.md). Thin over
amazing_analytics.gdpr; every failure is a message and an exit code, never a traceback.

Exit codes: 0 done / no trace; 1 verify found a trace; 2 bad input (id, manifest, warehouse);
3 access: no data held; 4 a build holds the warehouse; 5 erase --rebuild: the build failed."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from amazing_analytics.gdpr import EXIT_NO_DATA, EXIT_REBUILD_FAILED, EXIT_TRACE_FOUND, GdprError
from amazing_analytics.gdpr.errors import WarehouseBusyError, parse_user_id
from amazing_analytics.gdpr.metadata import Locations

gdpr_app = typer.Typer(
    no_args_is_help=True,
    help="GDPR rights: access, erase, verify, opt-out, opt-in; the processing register.",
)
console = Console()

UserArgument = Annotated[str, typer.Argument(help="The shopper's user_id.", show_default=False)]
ProjectOption = Annotated[
    Path, typer.Option(help="The dbt project (its seeds/ and target/manifest.json).")
]
WarehouseOption = Annotated[
    Path | None,
    typer.Option(
        help="The DuckDB warehouse (default $AMAZING_WAREHOUSE, else warehouse/amazing.duckdb)."
    ),
]

F = TypeVar("F", bound=Callable[..., None])


def _handled(command: F) -> F:
    """Print a GdprError as a message and exit with its code."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> None:
        try:
            command(*args, **kwargs)
        except WarehouseBusyError as error:
            console.print(f"[yellow]busy:[/yellow] {error}")
            raise typer.Exit(code=error.exit_code) from error
        except GdprError as error:
            console.print(f"[red]error:[/red] {error}")
            raise typer.Exit(code=error.exit_code) from error

    return wrapper  # type: ignore[return-value]


def _locations(project: Path, warehouse: Path | None) -> Locations:
    return Locations.resolve(project=project, warehouse=warehouse)


@gdpr_app.command()
@_handled
def access(
    user_id: UserArgument,
    out: Annotated[Path, typer.Option(help="Folder for the JSON, CSV and index files.")],
    project: ProjectOption = Path("."),
    warehouse: WarehouseOption = None,
) -> None:
    """Art. 15/20: every row about the person, as JSON and CSV, with an index and explanations."""
    from amazing_analytics.gdpr import lists
    from amazing_analytics.gdpr.access import export_access
    from amazing_analytics.gdpr.metadata import load_manifest, open_warehouse, personal_tables

    uid = parse_user_id(user_id)
    locations = _locations(project, warehouse)
    tables = personal_tables(load_manifest(locations.manifest))
    listed = {
        str(item.path): lists.contains(item, uid)
        for item in (
            lists.opt_out_live(locations.live_dir),
            lists.opt_out_seed(locations.seeds_dir),
            lists.erasure_live(locations.live_dir),
            lists.erasure_seed(locations.seeds_dir),
        )
    }
    with open_warehouse(locations.warehouse) as connection:
        report = export_access(
            connection, tables, uid, out, lists=listed, feedback_dir=locations.feedback_dir
        )
    if report.personal_rows == 0:
        note = " (an erasure request is on record)" if report.erasure_requested else ""
        console.print(f"no data held about user {uid}{note}")
        raise typer.Exit(code=EXIT_NO_DATA)
    table = Table(title=f"data held about user {uid}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("purposes")
    for export in report.exports:
        table.add_row(export.table.label, str(export.rows), ", ".join(export.table.purposes))
    for name, records in (
        ("API impressions (log files)", report.api_logs.impressions),
        ("API feedback (log files)", report.api_logs.feedback),
    ):
        if records:
            table.add_row(name, str(len(records)), "recommendations")
    console.print(table)
    for line in report.explanations:
        console.print(line, markup=False)
    console.print(f"wrote {len(report.exports)} tables, index.json and explanations.md to {out}")


@gdpr_app.command()
@_handled
def erase(
    user_id: UserArgument,
    reference: Annotated[
        str | None, typer.Option(help="Reference of the request (default CLI-<date>-<id>).")
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Rebuild the warehouse and its docs now (else print the command).")
    ] = False,
    project: ProjectOption = Path("."),
    warehouse: WarehouseOption = None,
) -> None:
    """Art. 17: record the request, purge the exports and the serving bundle, rebuild."""
    from amazing_analytics.gdpr.rights import rebuild_command, record_erasure, run_rebuild

    uid = parse_user_id(user_id)
    locations = _locations(project, warehouse)
    result = record_erasure(locations, uid, reference)
    console.print(
        f"erasure of user {uid} "
        + ("recorded" if result.recorded_in_seed else "was already recorded")
        + f" in {locations.seeds_dir / 'gdpr_erasure_requests.csv'} and the live list "
        f"{locations.live_dir / 'erasure_requests.csv'} (the API forgets the user now)"
    )
    for path in result.opt_outs_removed:
        console.print(f"removed from the objection list {path}")
    if result.purged:
        for path, rows in result.purged.items():
            console.print(f"purged {rows} row(s) from {path}")
    else:
        console.print(
            f"no rows of the user in {locations.exports_dir}, {locations.serving_dir} "
            f"or {locations.feedback_dir}"
        )
    command = rebuild_command(locations)
    if not rebuild:
        console.print(
            f"[bold]next:[/bold] run `{command}` to rebuild the warehouse and its docs without "
            f"the user, then `amazing gdpr verify {uid}`"
        )
        return
    console.print(f"rebuilding: {command} ...")
    try:
        run_rebuild(locations)
    except WarehouseBusyError:
        raise
    except GdprError as error:
        console.print(f"[red]rebuild failed[/red] (the request stays recorded): {error}")
        raise typer.Exit(code=EXIT_REBUILD_FAILED) from error
    console.print(f"rebuilt; check with `amazing gdpr verify {uid}`")


@gdpr_app.command()
@_handled
def verify(
    user_id: UserArgument,
    project: ProjectOption = Path("."),
    warehouse: WarehouseOption = None,
) -> None:
    """Prove no trace is left (warehouse, exports, serving bundle, docs); exit 1 naming the place."""
    from amazing_analytics.gdpr.rights import rebuild_command
    from amazing_analytics.gdpr.rights import verify as run_verify

    uid = parse_user_id(user_id)
    locations = _locations(project, warehouse)
    result = run_verify(locations, uid)
    if not result.erasure_requested:
        console.print(f"[yellow]note:[/yellow] user {uid} is not on the erasure list")
    for path in result.kept_by_obligation:
        console.print(f"kept by legal obligation (the erasure request itself): {path}")
    if result.clean:
        console.print(
            f"[green]no trace of user {uid}[/green] in the warehouse, the exports, "
            "the serving bundle, the docs artifacts or the objection lists"
        )
        return
    console.print(f"[red]traces of user {uid}[/red] (place, where, rows or hits):")
    for trace in result.traces:
        # one line per place, never wrapped: scripts and people must read the full path
        console.print(
            f"  {trace.place}  {trace.location}  {trace.rows}", markup=False, soft_wrap=True
        )
    places = sorted({trace.place for trace in result.traces})
    console.print(
        f"[red]traces found[/red] in: {', '.join(places)}; "
        + (f"run `{rebuild_command(locations)}`" if {"warehouse", "docs"} & set(places) else "")
        + (
            " and `amazing gdpr erase` again to purge the files"
            if {"exports", "serving", "feedback"} & set(places)
            else ""
        )
    )
    raise typer.Exit(code=EXIT_TRACE_FOUND)


@gdpr_app.command("opt-out")
@_handled
def opt_out(
    user_id: UserArgument,
    project: ProjectOption = Path("."),
    warehouse: WarehouseOption = None,
) -> None:
    """Art. 21: no personalisation from now on (live list) and in the next build (seed)."""
    from amazing_analytics.gdpr.rights import opt_out as run_opt_out

    uid = parse_user_id(user_id)
    locations = _locations(project, warehouse)
    live, seed = run_opt_out(locations, uid)
    console.print(
        f"user {uid} "
        + ("opted out" if live or seed else "was already opted out")
        + f": live list {locations.live_dir / 'personalisation_opt_outs.csv'} (the API, at once), "
        f"seed {locations.seeds_dir / 'gdpr_personalisation_opt_outs.csv'} (the next build)"
    )


@gdpr_app.command("opt-in")
@_handled
def opt_in(
    user_id: UserArgument,
    project: ProjectOption = Path("."),
    warehouse: WarehouseOption = None,
) -> None:
    """Withdraw an objection: personalised again at once (API) and at the next build."""
    from amazing_analytics.gdpr.rights import opt_in as run_opt_in

    uid = parse_user_id(user_id)
    locations = _locations(project, warehouse)
    live, seed = run_opt_in(locations, uid)
    if live or seed:
        console.print(f"user {uid} opted in again (live list and seed updated)")
    else:
        console.print(f"user {uid} had not opted out: nothing to change")


@gdpr_app.command()
@_handled
def register(
    out: Annotated[Path, typer.Option(help="The Markdown file to write.")] = Path(
        "docs/processing_register.md"
    ),
    project: ProjectOption = Path("."),
) -> None:
    """Art. 30: write the record of processing activities from the dbt manifest."""
    from amazing_analytics.gdpr.metadata import load_manifest
    from amazing_analytics.gdpr.register import write_register

    locations = _locations(project, None)
    manifest = load_manifest(locations.manifest)
    path = write_register(manifest, locations.seeds_dir / "processing_purposes.csv", out)
    console.print(f"wrote the processing register to {path}")
