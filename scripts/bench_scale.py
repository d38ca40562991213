"""Growth curve of the whole build, stage by stage (issue 14 §3). A benchmark, not a test.

    make bench-scale SCALE_SIZES="1000000 3000000"

For each size: generates the seven demo months with the generator's monthly volumes (cached
under bench/scale/data/<events>-<seed>), times a raw DuckDB load of the same files (the same
read_csv options as the source, no cleaning), then one `dbt build` into a fresh warehouse while a
sampler reads the resident memory and the CPU time of the dbt process tree from /proc every 0.2
s. The build's target/run_results.json gives each node's execution window; nodes are grouped
into stages by their folder (STAGES), a stage's wall time is the sum of its nodes' execution
times and its peak RSS the highest sample inside those windows. The build's CPU seconds (every
core, from the kernel's account of the finished process) are printed with the least wall time
that work needs on this machine's cores; on one dbt thread, each stage's too. The nodes
running when the memory peaked are recorded too (peak_nodes: with two dbt threads, whose
memory met). With
--incremental-month, a second warehouse is built from the first six months, then the seventh
month is landed and the incremental build timed (the "one new month" row). Each build's node
times are also replayed through dbt's queue and a longest-path-first one
(amazing_analytics.build_schedule: what the order of the models costs with --threads above 1).
Last, issue 14's targets are judged on the sizes run
(amazing_analytics.scale_targets): met, not met, or not measured. Each size builds with
$AMAZING_MEMORY_LIMIT if it is set, else with the DuckDB memory limit the build's own warning
would name for its lines (scale_targets.memory_limit_for: 3GB up to 37.8M, 8GiB at 100M),
recorded as memory_limit.

Writes bench/scale/results.json and the PNG given by --plot (docs/benchmarks_scale.png), and
prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from amazing_analytics.bench import at_the_peak, cpu_between, project_var
from amazing_analytics.build_schedule import BuildGraph, summary, threads_used
from amazing_analytics.scale_targets import memory_limit_for, verdicts_markdown

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
TICK = os.sysconf("SC_CLK_TCK")

# (stage, test on the node's original_file_path and name), first match wins.
STAGES: tuple[tuple[str, object], ...] = (
    ("read", lambda path, name: name == "base_events_parsed"),
    ("sessions", lambda path, name: name in {"base_events_derived_sessions", "sessions"}),
    ("classification", lambda path, name: path.startswith("models/staging/")),
    (
        "customer ML",
        lambda path, name: path.startswith(
            (
                "python_models/segmentation/",
                "python_models/propensity/",
                "python_models/monitoring/",
            )
        ),
    ),
    ("recommenders", lambda path, name: "recommendations/" in path),
    ("forecasting", lambda path, name: path.startswith("python_models/forecasting/")),
    ("exports", lambda path, name: path.startswith("python_models/exports/")),
    ("bundle", lambda path, name: path.startswith("python_models/serving/")),
    ("decisions", lambda path, name: path.startswith("python_models/decisions/")),
    ("marts", lambda path, name: path.startswith("models/")),
)


def stage_of(resource_type: str, path: str, name: str) -> str:
    if resource_type == "test" or resource_type == "unit_test":
        return "tests"
    if resource_type == "seed":
        return "seeds"
    if resource_type == "operation":
        return "hooks"
    for stage, matches in STAGES:
        if matches(path, name):  # type: ignore[operator]
            return stage
    return "other"


def _tree_usage(root: int) -> tuple[int, float]:
    """Resident bytes of a process and all its descendants, and the CPU seconds they have
    used so far (user + system, with their finished children's), from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    cpu: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)
        rss[pid] = int(fields[21]) * PAGE
        cpu[pid] = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    total, ticks, stack = 0, 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        ticks += cpu.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total, ticks / TICK


@dataclass
class Measured:
    seconds: float
    peak_gb: float
    samples: list[tuple[float, int, float]] = field(default_factory=list)
    output: str = ""
    cpu_seconds: float = 0.0


def run_sampled(command: list[str], env: dict[str, str] | None = None) -> Measured:
    """Wall time, peak RSS of the process tree, its CPU seconds (every core, from the kernel's
    account of the finished child), the (unix time, bytes, CPU seconds so far) samples, the
    output."""
    samples: list[tuple[float, int, float]] = []
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_scale_{os.getpid()}.log"
    with log.open("w") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((time.time(), *_tree_usage(process.pid)))
                done.wait(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        process.wait()
        done.set()
        sampler.join()
        seconds = time.perf_counter() - start
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    text = log.read_text()
    log.unlink()
    if process.returncode != 0:
        sys.stderr.write(text[-6000:])
        raise SystemExit(f"failed: {' '.join(command)}")
    peak = max((value for _, value, _ in samples), default=0)
    return Measured(seconds, peak / 1024**3, samples, text, cpu_seconds)


def _epoch(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def execute_window(result: dict) -> tuple[float, float] | None:
    """A node's execution window in unix time (from its run_results entry), or None when the
    result names none."""
    execute = [t for t in result.get("timing", []) if t["name"] == "execute"]
    if not (execute and execute[0].get("started_at") and execute[0].get("completed_at")):
        return None
    return _epoch(execute[0]["started_at"]), _epoch(execute[0]["completed_at"])


def node_usage(result: dict, samples: list[tuple[float, int, float]]) -> tuple[float, float] | None:
    """One node's peak RSS (GB) and CPU seconds inside its execution window (from its
    run_results entry), or None when the result names no window."""
    window = execute_window(result)
    if window is None:
        return None
    first, last = window
    inside = [value for stamp, value, _ in samples if first - 0.2 <= stamp <= last + 0.2]
    return max(inside, default=0) / 1024**3, cpu_between(samples, first, last)


def stage_table(
    run_results: Path,
    manifest: Path,
    samples: list[tuple[float, int, float]],
    one_thread: bool = False,
) -> dict:
    """Per stage: summed execution seconds, peak RSS (GB) inside its nodes' windows, node count;
    with ``one_thread`` (dbt ran one node at a time) also the CPU seconds inside those windows,
    every core's (with two threads the windows overlap and CPU time cannot be told apart)."""
    nodes = json.loads(manifest.read_text())["nodes"]
    stages: dict[str, dict] = {}
    for result in json.loads(run_results.read_text())["results"]:
        node = nodes.get(result["unique_id"], {})  # unit tests are not in "nodes"
        stage = stage_of(
            result["unique_id"].split(".")[0],
            node.get("original_file_path", ""),
            node.get("name", ""),
        )
        entry = stages.setdefault(
            stage, {"seconds": 0.0, "peak_gb": 0.0, "nodes": 0, "cpu_seconds": 0.0}
        )
        entry["seconds"] += result.get("execution_time") or 0.0
        entry["nodes"] += 1
        usage = node_usage(result, samples)
        if usage:
            entry["peak_gb"] = max(entry["peak_gb"], usage[0])
            entry["cpu_seconds"] += usage[1]
    return {
        stage: {
            "seconds": round(value["seconds"], 1),
            "peak_gb": round(value["peak_gb"], 2),
            "nodes": value["nodes"],
            **({"cpu_seconds": round(value["cpu_seconds"], 1)} if one_thread else {}),
        }
        for stage, value in stages.items()
    }


def top_nodes(
    run_results: Path,
    samples: list[tuple[float, int, float]],
    count: int = 12,
    one_thread: bool = False,
) -> list:
    """The ``count`` slowest nodes and the ``count`` with the highest peak RSS inside their
    windows: (name, seconds, peak GB), with ``one_thread`` also the CPU seconds inside the
    window (every core's), the limiting stage's culprits by name."""
    rows = []
    for result in json.loads(run_results.read_text())["results"]:
        peak, cpu = node_usage(result, samples) or (0.0, 0.0)
        name = result["unique_id"].split(".", 2)[-1]
        row = (name, round(result.get("execution_time") or 0.0, 1), round(peak, 2))
        rows.append((*row, round(cpu, 1)) if one_thread else row)
    slowest = sorted(rows, key=lambda row: -row[1])[:count]
    largest = sorted(rows, key=lambda row: -row[2])[:count]
    return [list(row) for row in dict.fromkeys(slowest + largest)]


def peak_nodes(run_results: Path, samples: list[tuple[float, int, float]]) -> dict:
    """When the build's memory peaked (seconds after its first sample), the peak (GB) and the
    nodes running then: with two dbt threads, which models' memory met."""
    windows = []
    for result in json.loads(run_results.read_text())["results"]:
        window = execute_window(result)
        if window:
            windows.append((result["unique_id"].split(".", 2)[-1], *window))
    stamp, peak, running = at_the_peak(samples, windows)
    return {
        "seconds": round(stamp - samples[0][0], 1) if samples else 0.0,
        "peak_gb": round(peak / 1024**3, 2),
        "nodes": running,
    }


def raw_load(events_glob: str, database: Path) -> Measured:
    """DuckDB reading the files with the source's own read_csv options into a table."""
    database.unlink(missing_ok=True)
    location = (
        "read_csv(?, columns=struct_pack(event_time := 'TIMESTAMP', event_type := 'VARCHAR', "
        "product_id := 'BIGINT', category_id := 'VARCHAR', category_code := 'VARCHAR', "
        "brand := 'VARCHAR', price := 'VARCHAR', user_id := 'BIGINT', user_session := 'VARCHAR'), "
        "header=true, auto_detect=false, delim=',', quote='', escape='', "
        "timestampformat='%Y-%m-%d %H:%M:%S UTC', encoding='latin-1', filename=true, "
        "strict_mode=true, null_padding=false, ignore_errors=true, store_rejects=true)"
    )
    script = (
        "import duckdb,os,sys; con=duckdb.connect(sys.argv[1]); "
        "con.execute(\"set memory_limit='\" + os.environ.get('AMAZING_MEMORY_LIMIT', '3GB') + \"'\"); "
        "con.execute('set preserve_insertion_order=false'); "
        f'con.execute("create table events as select * from {location}", [sys.argv[2]]); '
        "print(con.execute('select count(*) from events').fetchone()[0])"
    )
    measured = run_sampled([sys.executable, "-c", script, str(database), events_glob])
    database.unlink(missing_ok=True)
    return measured


def dbt_build(
    events_glob: str, warehouse: Path, target: Path, *extra: str, memory_limit: str
) -> tuple[Measured, dict]:
    env = {
        **os.environ,
        "AMAZING_MEMORY_LIMIT": memory_limit,
        "AMAZING_WAREHOUSE": str(warehouse),
        "AMAZING_EVENTS_PATH": events_glob,
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_USE_COLORS": "false",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    command = [
        str(BIN / "dbt"),
        "build",
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        *extra,
    ]
    measured = run_sampled(command, env=env)
    one_thread = threads_used(target) == 1
    stages = stage_table(
        target / "run_results.json", target / "manifest.json", measured.samples, one_thread
    )
    (target / "top_nodes.json").write_text(
        json.dumps(top_nodes(target / "run_results.json", measured.samples, one_thread=one_thread))
    )
    (target / "peak_nodes.json").write_text(
        json.dumps(peak_nodes(target / "run_results.json", measured.samples))
    )
    return measured, stages


def generate(events: int, seed: int, data: Path) -> None:
    if (data / "2020-Apr.csv.gz").exists():
        return
    print(f"generating {events:,} events into {data} ...", flush=True)
    measured = run_sampled(
        [
            str(BIN / "amazing"),
            "generate",
            "--events",
            str(events),
            "--seed",
            str(seed),
            "--out",
            str(data),
        ]
    )
    print(f"  generated in {measured.seconds:.0f} s", flush=True)


#: Where the curve is extrapolated to: a quarter of the full public logs, and all of them.
EXTRAPOLATE_TO = (100_000_000, 411_000_000)


def power_law(sizes: list[float], values: list[float]) -> tuple[float, float] | None:
    """(coefficient, exponent) of value = c * size^b through the two largest sizes with a
    positive value (the local slope of the log-log curve where it is measured last), the
    exponent at least 0 (a stage whose cost does not grow, forecasting say, is projected flat,
    not shrinking); None with fewer than two."""
    points = [(size, value) for size, value in zip(sizes, values, strict=True) if value > 0]
    if len(points) < 2:
        return None
    (small, low), (large, high) = sorted(points)[-2:]
    exponent = max(0.0, math.log(high / low) / math.log(large / small))
    return high / large**exponent, exponent


def extrapolate(results: list[dict]) -> dict[str, dict]:
    """Per stage and for the whole build: the exponent of its last measured segment and the
    seconds and GB it projects at EXTRAPOLATE_TO (a straight line on log-log axes: what the
    curve does if it keeps its last slope)."""
    sizes = [float(entry["events"]) for entry in results]
    series = {
        "whole build": (
            [e["build_seconds"] for e in results],
            [e["build_peak_gb"] for e in results],
        )
    }
    for stage in sorted({stage for entry in results for stage in entry["stages"]}):
        series[stage] = (
            [entry["stages"].get(stage, {}).get("seconds", 0.0) for entry in results],
            [entry["stages"].get(stage, {}).get("peak_gb", 0.0) for entry in results],
        )
    out = {}
    for name, (seconds, gigabytes) in series.items():
        time_law, memory_law = power_law(sizes, seconds), power_law(sizes, gigabytes)
        if time_law is None:
            continue
        out[name] = {
            "time_exponent": round(time_law[1], 2),
            "memory_exponent": round(memory_law[1], 2) if memory_law else None,
            **{
                f"{size // 1_000_000}M": {
                    "seconds": round(time_law[0] * size ** time_law[1]),
                    "peak_gb": round(memory_law[0] * size ** memory_law[1], 1)
                    if memory_law
                    else None,
                }
                for size in EXTRAPOLATE_TO
            },
        }
    return out


def plot(results: list[dict], path: Path, title: str = "make bench-scale") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [entry["events"] / 1e6 for entry in results]
    projected = extrapolate(results)
    plt.rcParams["axes.prop_cycle"] = plt.cycler(color=plt.cm.tab20.colors)
    figure, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
    names = ["whole build", *sorted({s for entry in results for s in entry["stages"]})]
    for name in names:
        if name == "whole build":
            seconds = [entry["build_seconds"] for entry in results]
            memory = [entry["build_peak_gb"] for entry in results]
            style = {"color": "black", "linewidth": 2.5, "marker": "s"}
        else:
            seconds = [entry["stages"].get(name, {}).get("seconds", 0) for entry in results]
            memory = [entry["stages"].get(name, {}).get("peak_gb", 0) for entry in results]
            style = {"marker": "o"}
        if max(seconds) < 5 and name != "whole build":
            continue  # the stages of a few seconds would only crowd the legend
        line = left.plot(sizes, seconds, label=name, **style)[0]
        right.plot(
            sizes,
            memory,
            label=name,
            color=line.get_color(),
            **{k: v for k, v in style.items() if k != "color"},
        )
        if name in projected:
            ahead = [sizes[-1]] + [size / 1e6 for size in EXTRAPOLATE_TO]
            tail = projected[name]
            left.plot(
                ahead,
                [seconds[-1]] + [tail[f"{s // 1_000_000}M"]["seconds"] for s in EXTRAPOLATE_TO],
                linestyle=":",
                color=line.get_color(),
            )
            if tail["memory_exponent"] is not None:
                right.plot(
                    ahead,
                    [memory[-1]] + [tail[f"{s // 1_000_000}M"]["peak_gb"] for s in EXTRAPOLATE_TO],
                    linestyle=":",
                    color=line.get_color(),
                )
    right.axhline(24, color="red", linewidth=1, linestyle="--", label="machine memory (24 GB)")
    for axis in (left, right):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.grid(alpha=0.3, which="both")
    left.set(
        xlabel="events (millions, log)",
        ylabel="seconds (log)",
        title="wall time per stage: measured (solid), last slope extrapolated (dotted)",
    )
    right.set(xlabel="events (millions, log)", ylabel="GB (log)", title="peak RSS per stage")
    left.legend(fontsize=7, ncol=2)
    right.legend(fontsize=7, ncol=2)
    figure.suptitle(title)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


def markdown(results: list[dict]) -> str:
    stages = sorted({stage for entry in results for stage in entry["stages"]})
    header = (
        "| stage | "
        + " | ".join(
            f"{entry['events'] / 1e6:g}M s | {entry['events'] / 1e6:g}M GB" for entry in results
        )
        + " |"
    )
    lines = [header, "|---|" + "---|---|" * len(results)]
    for stage in stages:
        cells = []
        for entry in results:
            value = entry["stages"].get(stage, {"seconds": 0, "peak_gb": 0})
            cells.append(f"{value['seconds']:.1f} | {value['peak_gb']:.2f}")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines.append(
        "| **whole build** | "
        + " | ".join(
            f"{entry['build_seconds']:.1f} | {entry['build_peak_gb']:.2f}" for entry in results
        )
        + " |"
    )
    lines.append(
        "| raw DuckDB load | "
        + " | ".join(
            f"{entry['raw_load_seconds']:.1f} | {entry['raw_load_peak_gb']:.2f}"
            for entry in results
        )
        + " |"
    )
    lines.append(
        "| staging / raw load | "
        + " | ".join(f"{entry['staging_over_raw']:.2f} | " for entry in results)
        + " |"
    )
    return "\n".join(lines)


def cpu_line(entry: dict) -> str:
    """The build's CPU seconds beside its wall time, and the least wall time the same work
    could take on this machine's cores in any order of the nodes (CPU seconds / cores)."""
    cpu, wall, cores = entry["build_cpu_seconds"], entry["build_seconds"], entry["cores"]
    return (
        f"CPU {cpu:.1f} s in {wall:.1f} s of wall time ({cpu / wall:.2f} of {cores} cores busy); "
        f"the same work needs at least {cpu / cores:.1f} s on {cores} cores"
    )


def cpu_markdown(results: list[dict]) -> str:
    """Per stage, the CPU seconds of every core and the cores busy on average (CPU / wall) for
    the sizes built on one dbt thread: a stage near 1 core leaves the other cores idle."""
    measured = [
        entry
        for entry in results
        if "build_cpu_seconds" in entry
        and any("cpu_seconds" in value for value in entry["stages"].values())
    ]
    if not measured:
        return "(CPU per stage: measured on one dbt thread only)"
    stages = sorted({stage for entry in measured for stage in entry["stages"]})
    lines = [
        "| stage | "
        + " | ".join(f"{entry['events'] / 1e6:g}M CPU s | cores busy" for entry in measured)
        + " |",
        "|---|" + "---|---|" * len(measured),
    ]

    def cells(cpu: float, seconds: float) -> str:
        return f"{cpu:.1f} | {cpu / seconds:.2f}" if seconds else f"{cpu:.1f} | "

    for stage in stages:
        row = []
        for entry in measured:
            value = entry["stages"].get(stage, {"seconds": 0, "cpu_seconds": 0.0})
            row.append(cells(value.get("cpu_seconds", 0.0), value["seconds"]))
        lines.append(f"| {stage} | " + " | ".join(row) + " |")
    lines.append(
        "| **whole build** | "
        + " | ".join(cells(e["build_cpu_seconds"], e["build_seconds"]) for e in measured)
        + " |"
    )
    return "\n".join(lines)


def extrapolation_markdown(results: list[dict]) -> str:
    """The projection table: each stage's last measured slope and where it leads."""
    projected = extrapolate(results)
    targets = [f"{size // 1_000_000}M" for size in EXTRAPOLATE_TO]
    lines = [
        "| stage | time exponent | memory exponent | "
        + " | ".join(f"{t} s | {t} GB" for t in targets)
        + " |",
        "|---|---|---|" + "---|---|" * len(targets),
    ]
    for name, row in sorted(projected.items(), key=lambda item: -item[1][targets[-1]]["seconds"]):
        cells = " | ".join(
            f"{row[t]['seconds']:,} | {row[t]['peak_gb'] if row[t]['peak_gb'] is not None else ''}"
            for t in targets
        )
        lines.append(
            f"| {name} | {row['time_exponent']} | {row['memory_exponent'] or ''} | {cells} |"
        )
    return "\n".join(lines)


def replot(paths: list[Path], out: Path, plot_path: Path, title: str) -> None:
    """Merge the results of several runs (one entry per size, the later file winning), then
    write the merged results, the curve and the tables."""
    by_size: dict[int, dict] = {}
    for path in paths:
        for entry in json.loads(path.read_text()):
            by_size[entry["events"]] = entry
    results = [by_size[size] for size in sorted(by_size)]
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    plot(results, plot_path, title)
    print(markdown(results))
    print()
    print(cpu_markdown(results))
    print()
    print(extrapolation_markdown(results))
    print()
    print(verdicts_markdown(results))


def _threads_args(threads: int | None) -> tuple[str, ...]:
    """dbt's ``--threads`` for ``threads`` (None: the profile's own setting)."""
    if threads is None:
        return ()
    if threads < 1:
        raise SystemExit(f"--threads must be at least 1, got {threads}")
    return ("--threads", str(threads))


def _schedule(target: Path) -> dict:
    """The build's node times replayed through dbt's queue and a longest-path-first one, on the
    threads the build ran with (``threads`` in the result)."""
    return summary(BuildGraph.from_target(target), threads_used(target))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 3_000_000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "scale")
    parser.add_argument("--plot", type=Path, default=REPO / "docs" / "benchmarks_scale.png")
    parser.add_argument(
        "--vars",
        default="",
        help="dbt --vars for every build (make bench-scale passes SCALE_VARS: the bounds of "
        "docs/scaling.md's scale profile)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="dbt's threads for every build (default: the profile's, 1); docs/scaling.md measures 2",
    )
    parser.add_argument(
        "--incremental-month",
        action="store_true",
        help="also time one new month landed on the first six",
    )
    parser.add_argument(
        "--from-results",
        type=Path,
        nargs="+",
        help="no build: merge these results.json files, redraw the curve, print the tables",
    )
    parser.add_argument("--title", default="make bench-scale (2 cores, 24 GB)")
    args = parser.parse_args()
    if args.from_results:
        replot(args.from_results, args.out, args.plot, args.title)
        return

    results: list[dict] = []
    for events in args.sizes:
        data = args.out / "data" / f"{events}-{args.seed}"
        generate(events, args.seed, data)
        events_glob = str(data / "*.csv.gz")
        raw = raw_load(events_glob, args.out / "raw.duckdb")
        rows = int(raw.output.strip().splitlines()[-1])
        print(
            f"{events:,}: raw DuckDB load {raw.seconds:.1f} s, {rows:,} rows, peak {raw.peak_gb:.2f} GB",
            flush=True,
        )
        warehouse = args.out / f"warehouse-{events}" / "amazing.duckdb"
        shutil.rmtree(warehouse.parent, ignore_errors=True)
        extra = (*(("--vars", args.vars) if args.vars else ()), *_threads_args(args.threads))
        # $AMAZING_MEMORY_LIMIT if set, else the limit the build's own warning would name
        memory_limit = os.environ.get("AMAZING_MEMORY_LIMIT") or memory_limit_for(
            rows, float(project_var(REPO, "max_events_per_memory_gib"))
        )
        print(f"{events:,}: DuckDB memory limit {memory_limit}", flush=True)
        build, stages = dbt_build(
            events_glob,
            warehouse,
            args.out / f"target-{events}",
            *extra,
            memory_limit=memory_limit,
        )
        staging = sum(
            stages.get(stage, {}).get("seconds", 0) for stage in ("read", "classification")
        )
        entry = {
            "events": events,
            "vars": args.vars,
            "rows": rows,
            "cores": os.cpu_count(),
            "load_average": os.getloadavg(),
            "raw_load_seconds": round(raw.seconds, 1),
            "raw_load_peak_gb": round(raw.peak_gb, 2),
            "raw_load_cpu_seconds": round(raw.cpu_seconds, 1),
            "memory_limit": memory_limit,
            "build_seconds": round(build.seconds, 1),
            "build_peak_gb": round(build.peak_gb, 2),
            "build_cpu_seconds": round(build.cpu_seconds, 1),
            "staging_seconds": round(staging, 1),
            "staging_over_raw": round(staging / raw.seconds, 2),
            "stages": stages,
            "top_nodes": json.loads((args.out / f"target-{events}" / "top_nodes.json").read_text()),
            "peak_nodes": json.loads(
                (args.out / f"target-{events}" / "peak_nodes.json").read_text()
            ),
            "schedule": _schedule(args.out / f"target-{events}"),
        }
        print(
            f"{events:,}: dbt build {build.seconds:.1f} s, peak {build.peak_gb:.2f} GB; stages {json.dumps(stages)}",
            flush=True,
        )
        print(f"{events:,}: schedule {json.dumps(entry['schedule'])}", flush=True)
        print(f"{events:,}: {cpu_line(entry)}", flush=True)
        print(f"{events:,}: at the peak {json.dumps(entry['peak_nodes'])}", flush=True)
        results.append(entry)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.json").write_text(json.dumps(results, indent=2))
        plot(
            results, args.plot, args.title
        )  # after every size: a stopped run still leaves its curve
        if args.incremental_month:
            landing = args.out / f"landing-{events}"
            shutil.rmtree(landing, ignore_errors=True)
            landing.mkdir(parents=True)
            ordered = sorted(data.glob("*.csv.gz"), key=lambda path: _month_key(path.name))
            for path in ordered[:-1]:
                os.link(path, landing / path.name)
            incremental = args.out / f"incremental-{events}" / "amazing.duckdb"
            shutil.rmtree(incremental.parent, ignore_errors=True)
            dbt_build(
                str(landing / "*.csv.gz"),
                incremental,
                args.out / f"target-{events}-six",
                *extra,
                memory_limit=memory_limit,
            )
            os.link(ordered[-1], landing / ordered[-1].name)
            month, month_stages = dbt_build(
                str(landing / "*.csv.gz"),
                incremental,
                args.out / f"target-{events}-month",
                *extra,
                memory_limit=memory_limit,
            )
            entry["new_month"] = {
                "file": ordered[-1].name,
                "file_share_of_bytes": round(
                    ordered[-1].stat().st_size / sum(p.stat().st_size for p in ordered), 3
                ),
                "build_seconds": round(month.seconds, 1),
                "build_peak_gb": round(month.peak_gb, 2),
                "build_cpu_seconds": round(month.cpu_seconds, 1),
                "stages": month_stages,
                "schedule": _schedule(args.out / f"target-{events}-month"),
            }
            print(
                f"{events:,}: one new month incremental {month.seconds:.1f} s; stages {json.dumps(month_stages)}",
                flush=True,
            )
            (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(markdown(results))
    print()
    print(cpu_markdown(results))
    print()
    print(extrapolation_markdown(results))
    print()
    print(verdicts_markdown(results))  # issue 14's targets, met or not, on this run's sizes
    print(f"results: {args.out / 'results.json'}; plot: {args.plot}")


def _month_key(name: str) -> tuple[int, int]:
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    year, month = name.split(".")[0].split("-")[:2]
    return int(year), months.index(month)


if __name__ == "__main__":
    main()
