"""How a finished dbt build filled its threads: its node times replayed through dbt's queue and
through a longest-path-first queue, and the longest path itself (amazing_analytics.build_schedule).

    python scripts/build_schedule.py target [--threads 2]

Replay a build with the thread count it ran with: side by side, nodes take longer than alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from amazing_analytics.build_schedule import BuildGraph, summary, threads_used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="the build's target/ directory")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads to replay on (default: the build's)"
    )
    args = parser.parse_args()
    for name in ("graph_summary.json", "run_results.json"):
        if not (args.target / name).is_file():
            raise SystemExit(f"{args.target / name} is missing: run dbt build with this target")
    try:
        threads = threads_used(args.target) if args.threads is None else args.threads
        result = summary(BuildGraph.from_target(args.target), threads)
    except ValueError as error:
        raise SystemExit(str(error)) from error
    print(f"the nodes' own times add up to {result['node_seconds']} s")
    print(f"on {result['threads']} thread(s), through dbt's queue (by depth): ", end="")
    print(f"{result['replay_dbt_seconds']} s; longest path first: ", end="")
    print(f"{result['replay_longest_path_seconds']} s")
    print(f"the longest path (no schedule is shorter): {result['longest_path_seconds']} s")
    for node, seconds in result["longest_path"]:
        print(f"  {seconds:7.1f} s  {node}")


if __name__ == "__main__":
    main()
