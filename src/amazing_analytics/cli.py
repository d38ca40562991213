"""The `amazing` command line: generate demo data and summarise a built warehouse."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from amazing_analytics.warehouse import (
    ANALYTICS_MARTS,
    MAIN_MARTS,
    WarehouseSummary,
    summarise_warehouse,
)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Warehouse-native e-commerce analytics on REES46 / Open CDP event logs.",
)
console = Console()

from amazing_analytics.cli_gdpr import gdpr_app  # noqa: E402

app.add_typer(gdpr_app, name="gdpr")


@app.command()
def generate(
    events: Annotated[
        int, typer.Option(help="Approximate number of event lines to write.")
    ] = 1_500_000,
    seed: Annotated[
        int, typer.Option(help="Random seed: the same seed gives the same files.")
    ] = 42,
    out: Annotated[Path, typer.Option(help="Folder for the monthly csv.gz files.")] = Path(
        "data/demo"
    ),
) -> None:
    """Write synthetic REES46-shaped monthly event files (2019-10 .. 2020-04) and their ground truth."""
    from amazing_analytics.generate import generate_events

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("generating", total=None)

        def report(stage: str, done: int, total: int) -> None:
            progress.update(task, description=stage, completed=done, total=total)

        try:
            summary = generate_events(events, seed, out, progress=report)
        except ValueError as error:
            console.print(f"[red]error:[/red] {error}")
            raise typer.Exit(code=2) from error

    console.print(
        f"wrote {summary.events_written:,} events for {summary.users:,} users and "
        f"{summary.products:,} products in {len(summary.files)} files under {summary.out_dir} "
        f"({summary.seconds:.1f} s); ground truth in {summary.ground_truth_dir}"
    )


@app.command()
def summary(
    warehouse: Annotated[Path, typer.Option(help="The DuckDB warehouse file.")] = Path(
        "warehouse/amazing.duckdb"
    ),
    docs: Annotated[Path, typer.Option(help="The dbt docs site.")] = Path("target/index.html"),
) -> None:
    """Say where the warehouse, its docs and its main marts are, and how the audit came out."""
    try:
        result = summarise_warehouse(warehouse)
    except FileNotFoundError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from error
    _print_summary(result, docs)


def shared_metrics_dir() -> Path:
    """An empty directory for prometheus-client's multiprocess mode, set as
    $PROMETHEUS_MULTIPROC_DIR for the workers this process starts (so /metrics adds up every
    worker's samples, whichever worker answers the scrape), removed when this process ends."""
    import atexit
    import shutil
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="amazing-metrics-"))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    atexit.register(shutil.rmtree, directory, True)
    return directory


@app.command()
def serve(
    bundle: Annotated[
        Path | None,
        typer.Option(
            help="The serving bundle (default: $AMAZING_SERVING_DIR, else serving/ beside the "
            "warehouse, i.e. warehouse/serving)."
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int,
        typer.Option(
            help="uvicorn worker processes (more than 1: /metrics adds up every worker's, "
            "through $PROMETHEUS_MULTIPROC_DIR or a temporary directory).",
            min=1,
        ),
    ] = 1,
    gdpr_live: Annotated[
        Path | None,
        typer.Option(help="The live GDPR lists (default: gdpr_live/ beside the warehouse)."),
    ] = None,
    feedback_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the impression and feedback logs go (default: $AMAZING_FEEDBACK_DIR, "
            "else feedback/ beside the warehouse)."
        ),
    ] = None,
    access_log: Annotated[
        bool, typer.Option(help="Log one line per request (route template, never a user id).")
    ] = True,
) -> None:
    """Serve recommendations over HTTP from the serving bundle (OpenAPI at /docs)."""
    from amazing_analytics.serving.bundle import BundleError, read_manifest, serving_dir
    from amazing_analytics.serving.server import run

    directory = bundle or serving_dir()
    try:
        manifest = read_manifest(directory)
    except BundleError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from error
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        metrics_dir = shared_metrics_dir()
        console.print(f"metrics of the {workers} workers shared through {metrics_dir}")
    console.print(
        f"serving bundle {manifest['build_id']} from {directory} on http://{host}:{port} "
        f"(docs at http://{host}:{port}/docs)"
    )
    run(
        directory,
        host,
        port,
        workers=workers,
        gdpr_live=gdpr_live,
        feedback_dir=feedback_dir,
        access_log=access_log,
    )


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="Port of the dashboard (127.0.0.1).")] = 8501,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    headless: Annotated[
        bool, typer.Option(help="Do not open a browser (servers, CI, the browser tests).")
    ] = False,
    warehouse: Annotated[
        Path | None,
        typer.Option(
            help="The warehouse file whose exports/ to read (default $AMAZING_WAREHOUSE)."
        ),
    ] = None,
) -> None:
    """Run the marketing dashboard (Streamlit) on the Parquet exports of the last build."""
    import os
    import subprocess
    import sys

    from amazing_analytics.dashboard import APP_PATH

    if not 1 <= port <= 65535:
        console.print(f"[red]error:[/red] --port must be 1..65535, got {port}")
        raise typer.Exit(code=2)
    env = dict(os.environ)
    if warehouse is not None:
        env["AMAZING_WAREHOUSE"] = str(warehouse)
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_PATH),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
        # marketing reads the app; the developer toolbar (Deploy, rerun) is not for them
        "--client.toolbarMode",
        "viewer",
    ]
    console.print(f"dashboard on http://{host}:{port} (Ctrl+C to stop)")
    try:
        completed = subprocess.run(command, env=env, check=False)
    except KeyboardInterrupt:  # pragma: no cover - interactive stop
        raise typer.Exit(code=0) from None
    raise typer.Exit(code=completed.returncode)


def _print_summary(result: WarehouseSummary, docs: Path) -> None:
    console.print(f"[bold]warehouse[/bold]  {result.path.resolve()}  (DuckDB; open it read-only)")
    docs_text = str(docs.resolve()) if docs.exists() else f"{docs} (run `make docs`)"
    console.print(f"[bold]docs[/bold]       {docs_text}  (or `.venv/bin/dbt docs serve`)")
    marts = Table(title="main marts", show_lines=False)
    marts.add_column("table")
    marts.add_column("rows", justify="right")
    for name in (*MAIN_MARTS, *ANALYTICS_MARTS):
        rows = result.row_counts.get(name)
        marts.add_row(name, f"{rows:,}" if rows is not None else "missing")
    console.print(marts)
    if result.reconciliation:
        audit = Table(title="data audit (data_quality_report)")
        audit.add_column("check")
        audit.add_column("rows", justify="right")
        for check, rows in result.reconciliation.items():
            audit.add_row(check, f"{rows:,}")
        console.print(audit)


@app.command("export")
def export_command(
    warehouse: Annotated[Path, typer.Option(help="The DuckDB warehouse file.")] = Path(
        "warehouse/amazing.duckdb"
    ),
    out: Annotated[
        Path | None,
        typer.Option(
            help="Exports folder (default: $AMAZING_EXPORTS_DIR, else beside the warehouse)."
        ),
    ] = None,
) -> None:
    """Re-write the Parquet exports and Power BI files from a built warehouse (read-only)."""
    from amazing_analytics.exports import ExportError, export_marts, exports_dir

    target = out or exports_dir(warehouse)
    try:
        counts = export_marts(warehouse, target)
    except (FileNotFoundError, ExportError) as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from error
    table = Table(title=f"exports in {target.resolve()}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in counts.items():
        table.add_row(name, f"{rows:,}")
    console.print(table)


@app.command("model-cards")
def model_cards_command(
    warehouse: Annotated[Path, typer.Option(help="The DuckDB warehouse file.")] = Path(
        "warehouse/amazing.duckdb"
    ),
    out: Annotated[Path, typer.Option(help="Folder for the cards.")] = Path("docs/model_cards"),
) -> None:
    """Write docs/model_cards/<model>.md from the evaluation marts of a built warehouse."""
    from amazing_analytics.model_cards import ModelCardError, write_model_cards

    try:
        paths = write_model_cards(warehouse, out)
    except ModelCardError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(code=2) from error
    for path in paths:
        console.print(f"wrote {path}")


if __name__ == "__main__":  # pragma: no cover
    app()
