"""Benchmark: raw DuckDB load vs `dbt build` of staging and marts on the same generated files.

    make bench EVENTS=10000000

Generates the events once (cached under bench/data/<events>-<seed>), then times
(a) DuckDB reading the same files into a typed table (CSV sniffer, no cleaning), and
(b) `dbt build` (seeds, staging, marts and all their tests) into a fresh warehouse,
and prints both, their ratio and the peak memory of each (max RSS of the process tree).
Not a test: the figures go into docs/benchmarks.md and the issue notes.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run_measured(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in GB (of the child and the descendants it waited for), and output."""
    with tempfile.TemporaryFile(mode="w+") as output:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT, text=True
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    if process.returncode != 0:
        sys.stderr.write(text[-6000:])
        raise SystemExit(f"failed: {' '.join(command)}")
    return seconds, usage.ru_maxrss / 1024 / 1024, text


def print_slowest(dbt_output: str, count: int = 8) -> None:
    plain = re.sub(r"\x1b\[[0-9;]*m", "", dbt_output)
    timings = [line for line in plain.splitlines() if " OK created" in line or " PASS " in line]
    slowest = sorted(
        timings, key=lambda row: -float(row.rsplit(" in ", 1)[-1].rstrip("s]").strip() or 0)
    )[:count]
    print("    slowest nodes:")
    for line in slowest:
        print("     ", line.split("  ", 1)[-1].strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=REPO / "bench")
    args = parser.parse_args()

    data = args.out / "data" / f"{args.events}-{args.seed}"
    if not (data / "2019-Oct.csv.gz").exists():
        print(f"generating {args.events:,} events into {data} ...", flush=True)
        seconds, peak, _ = run_measured(
            [
                str(BIN / "amazing"),
                "generate",
                "--events",
                str(args.events),
                "--seed",
                str(args.seed),
                "--out",
                str(data),
            ]
        )
        print(f"  generated in {seconds:.1f} s (peak {peak:.2f} GB)")
    events_glob = str(data / "*.csv.gz")
    results: dict[str, object] = {"events": args.events, "cores": os.cpu_count()}

    raw_db = args.out / "raw_load.duckdb"
    raw_db.unlink(missing_ok=True)
    load = (
        "import duckdb,sys; con=duckdb.connect(sys.argv[1]); "
        'con.execute("create table events as select * from read_csv(?)", [sys.argv[2]]); '
        "print(con.execute('select count(*) from events').fetchone()[0])"
    )
    raw_seconds, raw_peak, raw_out = run_measured(
        [sys.executable, "-c", load, str(raw_db), events_glob]
    )
    raw_out = raw_out.strip().splitlines()[-1]
    results |= {
        "raw_load_seconds": round(raw_seconds, 1),
        "raw_load_peak_gb": round(raw_peak, 2),
        "raw_rows": int(raw_out.strip()),
    }
    print(
        f"(a) raw DuckDB typed load : {raw_seconds:7.1f} s  rows {int(raw_out):,}  peak {raw_peak:.2f} GB"
    )
    raw_db.unlink(missing_ok=True)

    warehouse = args.out / "bench.duckdb"
    warehouse.unlink(missing_ok=True)
    env = {
        **os.environ,
        "AMAZING_WAREHOUSE": str(warehouse),
        "AMAZING_EVENTS_PATH": events_glob,
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_USE_COLORS": "false",
    }
    dbt = [
        str(BIN / "dbt"),
        "build",
        "--target-path",
        str(args.out / "target"),
        "--log-path",
        str(args.out / "logs"),
        # a test runs only where all the nodes it reads are built in the same step
        "--indirect-selection",
        "buildable",
    ]
    foundation = [
        "--select",
        "resource_type:seed",
        "path:models/staging",
        "path:models/marts/core",
        "path:models/marts/sales",
    ]
    dbt_seconds, dbt_peak, dbt_out = run_measured([*dbt, *foundation], env=env)
    results |= {
        "dbt_build_seconds": round(dbt_seconds, 1),
        "dbt_build_peak_gb": round(dbt_peak, 2),
        "ratio": round(dbt_seconds / raw_seconds, 2),
    }
    print(f"(b) dbt build, staging + core and sales marts (with their tests): {dbt_seconds:7.1f} s")
    print(f"    ratio (b)/(a)         : {dbt_seconds / raw_seconds:7.2f}  (target <= 1.5)")
    print(f"    peak memory of (b)    : {dbt_peak:7.2f} GB  (target < 4 GB)")
    print_slowest(dbt_out)

    ml_seconds, ml_peak, ml_out = run_measured([*dbt, "--exclude", *foundation[1:]], env=env)
    results |= {"ml_build_seconds": round(ml_seconds, 1), "ml_build_peak_gb": round(ml_peak, 2)}
    print(
        f"(c) dbt build, the rest (customer, forecasting and recommendation marts): {ml_seconds:7.1f} s"
        f"  peak {ml_peak:.2f} GB"
    )
    print_slowest(ml_out)
    (args.out / f"results-{args.events}.json").write_text(json.dumps(results, indent=2))
    print(f"results: {args.out / f'results-{args.events}.json'}")


if __name__ == "__main__":
    main()
