"""Synthetic REES46-shaped e-commerce event logs with known ground truth (the entry point).

:func:`generate_events` simulates a multi-category online shop and writes one gzip CSV per month
exactly like the Kaggle "eCommerce behavior data from multi category store" files, plus
ground-truth files in ``out/ground_truth/``. The model, module by module:

* :mod:`.catalogue` (products; data in ``data/*.csv``), :mod:`.personas`, :mod:`.population`
  (users, heavy-tailed activity) and :mod:`.taste` (each shopper's fixed taste);
* :mod:`.seasonality` (monthly volumes in the REES46 ratio, weekly and holiday cycles, the
  in-house ramp), :mod:`.choice` (category and product choice, funnel rates);
* :mod:`.sessions` (base and follow-up sessions), :mod:`.browsing` (views that walk through
  similar products), :mod:`.funnel` (carts, purchases, cross-sells), :mod:`.timeline`,
  :mod:`.defects`, :mod:`.month` (one month end to end);
* :mod:`.demand` (the analytic expected demand), :mod:`.ground_truth`, :mod:`.csvout`;
* :mod:`.stats` measures the published statistics on generated files (docs/demo_data.md).

The simulation is vectorised with numpy and runs month by month (peak memory is bounded by the
largest month). Month *m* is written (Arrow CSV rendering + chunk-parallel gzip, both outside the
GIL) in a background thread while month *m+1* is simulated. All randomness comes from
``numpy.random.SeedSequence(seed)`` children, so the output is byte-identical for equal
arguments.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np

from amazing_analytics.generate import catalogue as catalogue_data
from amazing_analytics.generate.campaign import PlantedCampaign
from amazing_analytics.generate.csvout import month_file_name, month_table, write_table
from amazing_analytics.generate.defects import RECODE_DATE
from amazing_analytics.generate.ground_truth import write_ground_truth
from amazing_analytics.generate.model import ShopModel
from amazing_analytics.generate.month import MonthEvents, month_rows, simulate_month
from amazing_analytics.generate.sessions import FollowUps

_MIN_EVENTS = 1000


@dataclass(frozen=True)
class GenerateSummary:
    """What :func:`generate_events` wrote.

    Attributes:
        out_dir: Output directory.
        files: The monthly ``.csv.gz`` event files, sorted.
        ground_truth_dir: ``out_dir / "ground_truth"``.
        events_written: Data lines written over all files (including injected duplicates).
        users: Distinct users appearing in the logs.
        products: Products in the catalogue.
        seconds: Wall-clock duration of the run.
    """

    out_dir: Path
    files: list[Path]
    ground_truth_dir: Path
    events_written: int
    users: int
    products: int
    seconds: float


ProgressFn = Callable[[str, int, int], None]


def _as_date(value: date, name: str) -> date:
    """Validate a date argument (datetimes are truncated to their date)."""
    if isinstance(value, datetime):
        return value.date()
    if not isinstance(value, date):
        raise ValueError(f"{name} must be a datetime.date, got {value!r}")
    return value


def _validate(events: int, seed: int, start: date, end: date) -> tuple[int, date, date]:
    """Check the arguments of :func:`generate_events` (clear errors, never a traceback)."""
    if isinstance(events, bool) or not isinstance(events, int | np.integer):
        raise ValueError(f"events must be an integer, got {events!r}")
    if events < _MIN_EVENTS:
        raise ValueError(f"events must be at least {_MIN_EVENTS}, got {events}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    start = _as_date(start, "start")
    end = _as_date(end, "end")
    if start > end:
        raise ValueError(f"start ({start}) must not be after end ({end})")
    return int(events), start, end


def _write_months(
    model: ShopModel,
    out: Path,
    month_seeds: list[np.random.SeedSequence],
    report: ProgressFn,
    campaign: PlantedCampaign,
) -> tuple[list[Path], int, np.ndarray]:
    """Simulate and write every month; return the files, lines written and users seen."""
    calendar = model.calendar
    span_end = int(calendar.day_epoch[-1]) + 86_400
    seen = np.zeros(model.users.size, dtype=bool)
    pending = FollowUps.empty()
    carry: MonthEvents | None = None
    files: list[Path] = []
    written = 0
    with ThreadPoolExecutor(max_workers=1) as pool, ThreadPoolExecutor(max_workers=2) as zpool:
        job: Future[int] | None = None
        for month, (year, month_number, _, end_day) in enumerate(calendar.months):
            rng = np.random.default_rng(month_seeds[month])
            events, pending = simulate_month(model, month, rng, pending)
            if carry is not None:
                events = MonthEvents.concat([carry, events])
            month_end = int(calendar.day_epoch[end_day - 1]) + 86_400
            inside = events.time < month_end
            later = ~inside & (events.time < span_end)
            carry = events.take(later) if later.any() else None
            events = campaign.apply(events.take(inside))
            seen[events.user] = True
            recoded = date(year, month_number, 1) >= RECODE_DATE
            rows = month_rows(model, events, recoded, rng)
            del events
            path = out / month_file_name(year, month_number)
            files.append(path)
            table = month_table(rows, catalogue_data.CATEGORY_CODES, catalogue_data.BRANDS)
            del rows
            if job is not None:
                written += job.result()
                report("events", written, model.events)
            job = pool.submit(write_table, path, table, zpool)
            del table
        if job is not None:
            written += job.result()
            report("events", written, model.events)
    return files, written, seen


def generate_events(
    events: int,
    seed: int,
    out: Path,
    *,
    start: date = date(2019, 10, 1),
    end: date = date(2020, 4, 30),
    progress: ProgressFn | None = None,
) -> GenerateSummary:
    """Generate REES46-shaped monthly event files with ground truth.

    Args:
        events: Approximate total number of data lines (the result is within a fraction of a
            percent; at least 1000), spread over the months in the REES46 ratio.
        seed: Random seed; equal arguments give byte-identical files.
        out: Output directory (created if needed). Event files ``YYYY-Mon.csv.gz`` go directly
            into it, ground truth into ``out/ground_truth/``.
        start: First day (inclusive).
        end: Last day (inclusive); ``start <= end``.
        progress: Optional callback ``progress(stage, done, total)``; stages are ``"model"``
            (0/1, 1/1), ``"events"`` (lines written so far / requested events, once per month)
            and ``"ground_truth"`` (0/1, 1/1).

    Returns:
        A :class:`GenerateSummary`.

    Raises:
        ValueError: If ``events < 1000``, ``start > end`` or the arguments have wrong types.
    """
    started = time.perf_counter()
    events, start, end = _validate(events, seed, start, end)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = progress or (lambda stage, done, total: None)

    report("model", 0, 1)
    # The fourth child seeds the planted campaign, the fifth the category price moves (the
    # first three are unchanged by them).
    seeds = np.random.SeedSequence(int(seed) % 2**128).spawn(5)
    model = ShopModel(events, start, end, [seeds[0], seeds[1], seeds[4]])
    month_seeds = seeds[2].spawn(len(model.calendar.months))
    campaign = PlantedCampaign(model, np.random.default_rng(seeds[3]))
    report("model", 1, 1)

    files, written, seen = _write_months(model, out, month_seeds, report, campaign)

    report("ground_truth", 0, 1)
    ground_truth = out / "ground_truth"
    write_ground_truth(model, ground_truth, seen)
    campaign.write(out / "campaign_sends.csv", ground_truth / "campaign_uplift.csv")
    report("ground_truth", 1, 1)
    return GenerateSummary(
        out_dir=out,
        files=sorted(files),
        ground_truth_dir=ground_truth,
        events_written=written,
        users=int(seen.sum()),
        products=model.catalogue.size,
        seconds=time.perf_counter() - started,
    )


__all__ = ["GenerateSummary", "generate_events"]
