"""Issue 14's targets, judged on the results of ``make bench-scale`` (scripts/bench_scale.py).

A target names the size it is for (the generator's nominal event count: 10M generates
10,009,684 lines) and one measured figure with its limit. :func:`verdicts` checks every target
against every result of its size, so a run shows what it met and what it did not beside the
figures, and a size that was not run says so instead of passing. docs/benchmarks.md keeps the
history of these figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: The profile's DuckDB memory limit when $AMAZING_MEMORY_LIMIT is unset (profiles.yml), in GiB
#: as DuckDB shows it ('3GB' shows as '2.7 GiB').
PROFILE_MEMORY_LIMIT = "3GB"
PROFILE_MEMORY_LIMIT_GIB = 2.7


@dataclass(frozen=True)
class Target:
    """``figure`` of the results of ``events`` (None: of every size) must be at most ``limit``.

    ``figure`` is a key of a result entry, or ``new_month.<key>`` for the incremental month."""

    label: str
    events: int | None
    figure: str
    limit: float
    unit: str


TARGETS: tuple[Target, ...] = (
    Target("10M events: whole dbt build", 10_000_000, "build_seconds", 240.0, "s"),
    Target("10M events: peak RSS", 10_000_000, "build_peak_gb", 4.0, "GB"),
    Target("100M events: whole dbt build", 100_000_000, "build_seconds", 2_700.0, "s"),
    Target("100M events: peak RSS", 100_000_000, "build_peak_gb", 16.0, "GB"),
    Target(
        "one new month on 100M (the seventh landed on the first six)",
        100_000_000,
        "new_month.build_seconds",
        600.0,
        "s",
    ),
    Target("staging within 1.5x of a raw load", None, "staging_over_raw", 1.5, "x"),
)


def _figure(entry: dict[str, Any], figure: str) -> float | None:
    value: Any = entry
    for key in figure.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return None if value is None else float(value)


def verdicts(
    results: Sequence[dict[str, Any]], targets: Sequence[Target] = TARGETS
) -> list[dict[str, Any]]:
    """One row per target and measured size: the figure, the limit and ``met`` (True, False,
    or None when the size or its figure was not measured: ``measured`` is then None)."""
    rows: list[dict[str, Any]] = []
    for target in targets:
        entries = [
            entry
            for entry in sorted(results, key=lambda e: e["events"])
            if target.events is None or entry["events"] == target.events
        ]
        if not entries:
            rows.append(_row(target, target.events, None))
        for entry in entries:
            rows.append(_row(target, entry["events"], _figure(entry, target.figure)))
    return rows


def _row(target: Target, events: int | None, measured: float | None) -> dict[str, Any]:
    return {
        "target": target.label,
        "events": events,
        "measured": measured,
        "limit": target.limit,
        "unit": target.unit,
        "met": None if measured is None else measured <= target.limit,
    }


def verdicts_markdown(results: Sequence[dict[str, Any]]) -> str:
    """The verdicts as a markdown table."""
    lines = ["| target | events | measured | limit | verdict |", "|---|---|---|---|---|"]
    for row in verdicts(results):
        events = "every size" if row["events"] is None else f"{row['events'] / 1e6:g}M"
        if row["met"] is None:
            measured, verdict = "", "not measured"
        else:
            measured = f"{row['measured']:,.2f} {row['unit']}"
            verdict = "met" if row["met"] else "**not met**"
        lines.append(
            f"| {row['target']} | {events} | {measured} | {row['limit']:,g} {row['unit']} "
            f"| {verdict} |"
        )
    return "\n".join(lines)


def memory_limit_for(events: int, max_events_per_gib: float) -> str:
    """The DuckDB memory limit a build of ``events`` lines needs: the profile's 3GB while the
    events per GiB stay within ``max_events_per_gib`` (var max_events_per_memory_gib, which the
    build's warning ``warn_memory_limit_low_for_the_events`` uses), else the whole GiB it names
    (8GiB for 100.1M lines at 14M per GiB). ``make bench-scale`` sets it for each size unless
    $AMAZING_MEMORY_LIMIT is set."""
    if events < 0 or max_events_per_gib <= 0:
        raise ValueError("events must be >= 0 and max_events_per_gib > 0")
    if events <= max_events_per_gib * PROFILE_MEMORY_LIMIT_GIB:
        return PROFILE_MEMORY_LIMIT
    return f"{math.ceil(events / max_events_per_gib)}GiB"
