"""Issue 14's targets judged on bench-scale results built by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from amazing_analytics.bench import project_var
from amazing_analytics.scale_targets import (
    PROFILE_MEMORY_LIMIT,
    TARGETS,
    Target,
    memory_limit_for,
    verdicts,
    verdicts_markdown,
)

REPO = Path(__file__).resolve().parents[2]


def _entry(events: int, seconds: float, peak: float, staging: float, month: float | None = None):
    entry = {
        "events": events,
        "build_seconds": seconds,
        "build_peak_gb": peak,
        "staging_over_raw": staging,
    }
    if month is not None:
        entry["new_month"] = {"build_seconds": month}
    return entry


def test_each_target_is_judged_on_its_own_size_and_at_its_limit() -> None:
    results = [
        _entry(100_000_000, 2_156.3, 14.67, 3.0, month=2_400.0),
        _entry(10_000_000, 240.0, 4.01, 1.5),
        _entry(30_000_000, 686.8, 7.26, 3.07),
    ]
    rows = {(row["target"], row["events"]): row for row in verdicts(results)}
    # exactly the limit meets it; a hair above does not
    assert rows[("10M events: whole dbt build", 10_000_000)]["met"] is True
    assert rows[("10M events: peak RSS", 10_000_000)]["met"] is False
    assert rows[("100M events: whole dbt build", 100_000_000)]["met"] is True
    assert rows[("100M events: peak RSS", 100_000_000)]["met"] is True
    month = rows[("one new month on 100M (the seventh landed on the first six)", 100_000_000)]
    assert (month["measured"], month["met"]) == (2_400.0, False)
    # the staging ratio is judged at every size, smallest first
    staging = [row for row in verdicts(results) if row["target"].startswith("staging")]
    assert [(row["events"], row["met"]) for row in staging] == [
        (10_000_000, True),
        (30_000_000, False),
        (100_000_000, False),
    ]
    # 30M has no target of its own besides the staging ratio
    assert [row["target"] for row in verdicts(results) if row["events"] == 30_000_000] == [
        "staging within 1.5x of a raw load"
    ]
    assert len(verdicts(results)) == len(TARGETS) - 1 + 3


def test_a_size_or_figure_not_measured_is_not_a_pass() -> None:
    rows = verdicts([_entry(10_000_000, 300.0, 3.5, 2.6)])
    not_measured = [row for row in rows if row["met"] is None]
    assert [row["target"] for row in not_measured] == [
        "100M events: whole dbt build",
        "100M events: peak RSS",
        "one new month on 100M (the seventh landed on the first six)",
    ]
    assert all(row["measured"] is None for row in not_measured)
    # a 100M run without --incremental-month: the month is not measured, the rest is judged
    rows = verdicts([_entry(100_000_000, 2_000.0, 15.0, 3.0)])
    month = [row for row in rows if row["target"].startswith("one new month")]
    assert [(row["measured"], row["met"]) for row in month] == [(None, None)]
    assert verdicts([], [Target("t", None, "build_seconds", 1.0, "s")]) == [
        {
            "target": "t",
            "events": None,
            "measured": None,
            "limit": 1.0,
            "unit": "s",
            "met": None,
        }
    ]


def test_the_markdown_says_what_was_not_met_and_not_measured() -> None:
    text = verdicts_markdown([_entry(10_000_000, 282.3, 3.7, 2.63)])
    lines = text.splitlines()
    assert lines[0] == "| target | events | measured | limit | verdict |"
    assert "| 10M events: whole dbt build | 10M | 282.30 s | 240 s | **not met** |" in lines
    assert "| 10M events: peak RSS | 10M | 3.70 GB | 4 GB | met |" in lines
    assert "| 100M events: whole dbt build | 100M |  | 2,700 s | not measured |" in lines
    assert "| staging within 1.5x of a raw load | 10M | 2.63 x | 1.5 x | **not met** |" in lines


def test_the_memory_limit_for_a_size_is_the_one_the_builds_warning_names() -> None:
    """The profile's 3GB up to 14M events per GiB of it (37.8M lines), then the whole GiB the
    warning suggests: 100M at 8GiB (measured to build at 8GB; at 3GB it failed)."""
    per_gib = project_var(REPO, "max_events_per_memory_gib")
    assert per_gib == 14_000_000
    # the profile's own default, which memory_limit_for returns below the threshold
    assert (
        f"env_var('AMAZING_MEMORY_LIMIT', '{PROFILE_MEMORY_LIMIT}')"
        in (REPO / "profiles.yml").read_text()
    )
    assert memory_limit_for(10_009_684, per_gib) == "3GB"
    assert memory_limit_for(30_029_578, per_gib) == "3GB"
    assert memory_limit_for(37_800_000, per_gib) == "3GB"
    assert memory_limit_for(37_800_001, per_gib) == "3GiB"
    assert memory_limit_for(100_098_000, per_gib) == "8GiB"
    assert memory_limit_for(411_000_000, per_gib) == "30GiB"
    with pytest.raises(ValueError):
        memory_limit_for(10, 0)
