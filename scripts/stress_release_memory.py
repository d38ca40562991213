"""What ``dbt_io.release_memory`` does to a query running beside it (docs/benchmarks.md, eighth
pass). A stress loop, not a test: with ``dbt build --threads 2`` a SQL model can run while a
Python model releases DuckDB's cache, and the memory limit they share is lowered for a moment.

    python scripts/stress_release_memory.py --seconds 40 [--flat]

One thread aggregates and sorts a table of 3M rows in a loop; another releases every 5 ms,
through ``dbt_io._evict_duckdb_cache`` (the current way) or, with ``--flat``, the first way (the
limit lowered to a flat 32 MB and set back to what DuckDB shows). Prints how many queries ran
and failed, how many releases DuckDB refused (it cannot free enough), and the limit at the end;
stops early if a release leaves the limit lowered.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import duckdb

from amazing_analytics import dbt_io

QUERIES = (
    "create or replace table agg as select k, count(*) n, sum(v) s from t group by k",
    "create or replace table srt as select * from t order by v limit 100000",
)


def flat_release(cursor: duckdb.DuckDBPyConnection) -> None:
    """The first way: a flat 32 MB, set back to the limit as DuckDB shows it."""
    limit = cursor.execute("select current_setting('memory_limit')").fetchall()[0][0]
    try:
        cursor.execute("set memory_limit = '32MB'")
    finally:
        cursor.execute(f"set memory_limit = '{limit}'")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--flat", action="store_true", help="release the first way")
    args = parser.parse_args()
    release = flat_release if args.flat else dbt_io._evict_duckdb_cache

    with tempfile.TemporaryDirectory() as folder:
        con = duckdb.connect(str(Path(folder) / "stress.duckdb"))
        con.execute(
            f"set memory_limit = '3GB'; set threads = 2; set temp_directory = '{folder}/tmp'; "
            "set preserve_insertion_order = false"
        )
        con.execute(
            "create table t as select range as id, (random() * 2e5)::bigint as k, random() as v "
            "from range(3000000)"
        )
        shown = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
        stop = threading.Event()
        counts = {"queries": 0, "failed": 0, "releases": 0, "refused": 0}
        left_lowered: list[str] = []
        errors: list[str] = []

        def run_queries() -> None:
            cursor = con.cursor()
            while not stop.is_set():
                for sql in QUERIES:
                    try:
                        cursor.execute(sql)
                        counts["queries"] += 1
                    except duckdb.Error as error:
                        counts["failed"] += 1
                        errors.append(str(error).splitlines()[0])

        def run_releases() -> None:
            cursor = con.cursor()
            while not stop.is_set():
                try:
                    release(cursor)
                    counts["releases"] += 1
                except duckdb.Error:
                    counts["refused"] += 1
                now = cursor.execute("select current_setting('memory_limit')").fetchall()[0][0]
                # the first way also loses 0.1 GiB per release; either way MiB is the 32 MB
                if now.endswith("MiB") or (not args.flat and now != shown):
                    left_lowered.append(now)
                    stop.set()
                time.sleep(0.005)

        threads = [threading.Thread(target=run_queries), threading.Thread(target=run_releases)]
        for thread in threads:
            thread.start()
        stop.wait(args.seconds)
        stop.set()
        for thread in threads:
            thread.join()
        final = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
        con.close()

    print(
        f"{'flat 32 MB' if args.flat else 'dbt_io'}: {counts['queries']} queries ran, "
        f"{counts['failed']} failed; {counts['releases']} releases, {counts['refused']} refused; "
        f"limit {shown} before, {final} after"
        + (f"; a release left it at {left_lowered[0]}" if left_lowered else "")
    )
    if errors:
        print(f"first failure: {errors[0]}")


if __name__ == "__main__":
    main()
