"""Prove that a change leaves the warehouse's tables identical: checksum, then compare.

    python scripts/compare_marts.py checksum --warehouse W.duckdb --out before.json
    python scripts/compare_marts.py compare before.json after.json [--rename a.x=b.y ...]

``checksum`` writes one row count and two order-independent checksums per table of the
schemas staging, intermediate, marts, ml and reference (amazing_analytics.mart_checksums);
``compare`` prints one line per table (identical, equal at float32 precision, DIFFERENT,
MISSING, new) and exits 1 when a table is DIFFERENT or MISSING. docs/structure.md says how the
demo is built twice for it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from amazing_analytics import mart_checksums as mc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    checksum = commands.add_parser("checksum", help="checksum every table of a warehouse")
    checksum.add_argument("--warehouse", type=Path, required=True)
    checksum.add_argument("--out", type=Path, required=True)
    compare = commands.add_parser("compare", help="compare two checksum files")
    compare.add_argument("before", type=Path)
    compare.add_argument("after", type=Path)
    compare.add_argument(
        "--rename", action="append", default=[], help="schema.table before=schema.table after"
    )
    args = parser.parse_args()
    try:
        if args.command == "checksum":
            checksums = mc.warehouse_checksums(args.warehouse)
            mc.save(checksums, args.out)
            print(f"{len(checksums)} tables checksummed into {args.out}")
            return 0
        renames = dict(pair.split("=", 1) for pair in args.rename)
        rows = mc.compare_checksums(mc.load(args.before), mc.load(args.after), renames)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    width = max((len(before) for before, _, _ in rows), default=10)
    for before, after, status in rows:
        moved = f" -> {after}" if after != before else ""
        print(f"{before:<{width}}  {status}{moved}")
    counts = {status: sum(1 for *_, s in rows if s == status) for *_, status in rows}
    print(", ".join(f"{n} {status}" for status, n in sorted(counts.items())))
    bad = [before for before, _, status in rows if status in (mc.DIFFERENT, mc.MISSING)]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
