"""Measure the demo data's statistics beside the published figures of the full REES46 logs.

    python scripts/demo_stats.py [--dir data/demo] [--markdown]

Prints one row per statistic: measured, published figure, tolerance, source, within tolerance.
The measuring functions are ``amazing_analytics.generate.stats`` (the generator's test uses
them too). Exit status 1 when a statistic is outside its tolerance.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from amazing_analytics.generate import stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("data/demo"), help="generated files")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = parser.parse_args()
    try:
        measured = stats.measure_all(args.dir)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.markdown:
        print(stats.markdown_table(measured))
    else:
        width = max(len(s.name) for s in measured)
        for s in measured:
            high = "inf" if s.high >= 1e9 else f"{s.high:g}"
            print(
                f"{s.name:<{width}}  {s.measured:>10.4f}  {s.published:<22} "
                f"[{s.low:g}, {high}]  {'yes' if s.within else 'NO '}  {s.source}"
            )
    outside = [s.name for s in measured if not s.within]
    if outside:
        print(f"{len(outside)} statistic(s) outside tolerance: {', '.join(outside)}")
    return 1 if outside else 0


if __name__ == "__main__":
    sys.exit(main())
