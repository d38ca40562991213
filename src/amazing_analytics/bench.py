"""The benchmark harness the ``scripts/bench_*.py`` share: peak memory, a step timer, and the
CPU time of a sampled process between two moments.

    timer = StepTimer()
    with timer.step("fit"):
        model.fit(...)
    print(timer.table())

Each step records its wall time, the CPU time of this process (all its threads) and the peak
resident set size reached by its end.
"""

from __future__ import annotations

import bisect
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def project_var(project: Path, name: str) -> Any:
    """A var of the dbt project's ``dbt_project.yml`` (read with PyYAML, installed with dbt):
    the benches take their defaults and thresholds from where the build takes them."""
    import yaml

    return yaml.safe_load((project / "dbt_project.yml").read_text(encoding="utf-8"))["vars"][name]


def peak_rss_gb(children: bool = False) -> float:
    """Peak resident set size of this process, or with ``children`` of its finished child
    processes (the largest of them), in GB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    peak = resource.getrusage(who).ru_maxrss
    return peak / (1024**3 if sys.platform == "darwin" else 1024**2)


def cpu_at(samples: Sequence[tuple[float, ...]], stamp: float) -> float:
    """The cumulative CPU seconds of a sampled process at unix time ``stamp``: ``samples`` are
    tuples of (unix time, ..., cumulative CPU seconds) in time order (the CPU last, so the
    benches' (time, bytes, CPU) samples serve as they are), interpolated linearly between two
    samples and held at the first and last beyond them (0 without samples)."""
    if not samples:
        return 0.0
    after = bisect.bisect_right(samples, stamp, key=lambda sample: sample[0])
    if after == 0:
        return samples[0][-1]
    if after == len(samples):
        return samples[-1][-1]
    start, end = samples[after - 1], samples[after]
    return start[-1] + (end[-1] - start[-1]) * (stamp - start[0]) / (end[0] - start[0])


def cpu_between(samples: Sequence[tuple[float, ...]], first: float, last: float) -> float:
    """CPU seconds a sampled process spent between unix times ``first`` and ``last``: with
    one job at a time (dbt on one thread) a node's own CPU time, all its threads together."""
    return max(0.0, cpu_at(samples, last) - cpu_at(samples, first))


def at_the_peak(
    samples: Sequence[tuple[float, ...]],
    windows: Sequence[tuple[str, float, float]],
    slack: float = 0.2,
) -> tuple[float, float, list[str]]:
    """When a sampled process's memory peaked and who was running: ``samples`` are (unix time,
    bytes, ...) tuples, ``windows`` (name, start, end) in unix time, e.g. dbt's nodes. Returns
    the time of the first highest sample, its bytes, and the names whose window holds it
    (``slack`` seconds either side: the sampling interval), in the windows' order."""
    if not samples:
        return 0.0, 0.0, []
    stamp, peak = max(samples, key=lambda sample: sample[1])[:2]
    running = [name for name, start, end in windows if start - slack <= stamp <= end + slack]
    return stamp, peak, running


@dataclass(frozen=True)
class Step:
    """One timed step."""

    name: str
    seconds: float
    cpu_seconds: float
    peak_rss_gb: float


@dataclass
class StepTimer:
    """Times named steps in order; ``echo`` prints each step's line as it ends."""

    echo: bool = False
    steps: list[Step] = field(default_factory=list)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the body of the ``with`` block as step ``name`` (recorded even if it raises)."""
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            recorded = Step(
                name, time.perf_counter() - wall, time.process_time() - cpu, peak_rss_gb()
            )
            self.steps.append(recorded)
            if self.echo:
                print(self.line(recorded), flush=True)

    def seconds(self, name: str) -> float:
        """The wall seconds of the last step called ``name``."""
        for recorded in reversed(self.steps):
            if recorded.name == name:
                return recorded.seconds
        raise KeyError(name)

    @property
    def total_seconds(self) -> float:
        return sum(recorded.seconds for recorded in self.steps)

    @staticmethod
    def line(recorded: Step, width: int = 38) -> str:
        return (
            f"  {recorded.name:<{width}} {recorded.seconds:8.2f} s  cpu {recorded.cpu_seconds:8.2f} s"
            f"  peak RSS {recorded.peak_rss_gb:6.2f} GB"
        )

    def table(self, width: int = 30) -> str:
        """Every step's seconds, then the total."""
        rows = [f"{'step':<{width}} seconds"]
        rows += [f"{recorded.name:<{width}} {recorded.seconds:7.2f}" for recorded in self.steps]
        rows.append(f"{'total':<{width}} {self.total_seconds:7.2f}")
        return "\n".join(rows)
