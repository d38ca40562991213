"""How a finished ``dbt build`` filled its threads, and what another order would have given.

``dbt build`` hands the next ready node to a free thread by its depth in the graph (dbt-core's
``GraphQueue``: the level of a grouped topological sort of the build graph, tests included;
ties by unique id), not by the work still behind it. With one thread the order does not matter;
with two, a long chain of deep nodes can start late and run alone at the end (docs/scaling.md
§3). From a build's ``target/`` directory (``graph_summary.json``: the build graph with its
test edges; ``run_results.json``: each node's execution time) this module

* replays the node times through dbt's queue (:func:`replay`, ``"dbt"``) and through a queue
  that takes the node with the longest path behind it first (``"longest_path"``), for any
  number of threads;
* names the longest path itself (:func:`longest_path`): no order and no number of threads
  builds faster than its sum.

A replay takes each node's time as it was in the build measured: nodes side by side on two
cores take longer than alone, so replay a two-thread build to judge two-thread orders.
``scripts/bench_scale.py`` records both replays of every build in its results.
"""

from __future__ import annotations

import heapq
import json
from dataclasses import dataclass
from pathlib import Path

PRIORITIES = ("dbt", "longest_path")


@dataclass(frozen=True)
class BuildGraph:
    """The build graph's nodes (unique ids), each node's successors, and its measured seconds
    (0 for a node the build did not run: a source, an exposure)."""

    successors: dict[str, tuple[str, ...]]
    seconds: dict[str, float]

    @classmethod
    def from_target(cls, target: Path) -> BuildGraph:
        """The graph and node times of the build whose ``target/`` directory this is."""
        summary = json.loads((target / "graph_summary.json").read_text())["with_test_edges"]
        results = json.loads((target / "run_results.json").read_text())["results"]
        return cls.from_parts(
            {
                summary[key]["name"]: [summary[str(s)]["name"] for s in value.get("succ", [])]
                for key, value in summary.items()
            },
            {r["unique_id"]: float(r["execution_time"]) for r in results},
        )

    @classmethod
    def from_parts(cls, successors: dict[str, list[str]], seconds: dict[str, float]) -> BuildGraph:
        nodes = set(successors) | {s for children in successors.values() for s in children}
        unknown = sorted(set(seconds) - nodes)
        if unknown:
            raise ValueError(f"node times for nodes not in the graph: {', '.join(unknown[:5])}")
        return cls(
            {node: tuple(successors.get(node, ())) for node in sorted(nodes)},
            {node: max(float(seconds.get(node, 0.0)), 0.0) for node in sorted(nodes)},
        )

    def predecessors(self) -> dict[str, list[str]]:
        before: dict[str, list[str]] = {node: [] for node in self.successors}
        for node, children in self.successors.items():
            for child in children:
                before[child].append(node)
        return before

    def levels(self) -> dict[str, int]:
        """dbt's score of each node: its level in a grouped topological sort."""
        waiting = {node: len(parents) for node, parents in self.predecessors().items()}
        level, current, out = 0, [n for n, count in waiting.items() if count == 0], {}
        while current:
            following = []
            for node in current:
                out[node] = level
                for child in self.successors[node]:
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        following.append(child)
            current, level = following, level + 1
        if len(out) != len(self.successors):
            raise ValueError("the build graph has a cycle")
        return out

    def remaining(self) -> dict[str, float]:
        """Each node's time plus the longest path of times after it."""
        levels = self.levels()
        out: dict[str, float] = {}
        for node in sorted(self.successors, key=lambda n: -levels[n]):
            after = (out[child] for child in self.successors[node])
            out[node] = self.seconds[node] + max(after, default=0.0)
        return out


def threads_used(target: Path) -> int:
    """How many of dbt's worker threads ran the nodes of the build in ``target/`` (each result
    names its thread; at least 1)."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return max(len({r.get("thread_id") for r in results if r.get("thread_id") != "main"}), 1)


def replay(graph: BuildGraph, threads: int, priority: str = "dbt") -> float:
    """The seconds the build's nodes take on ``threads`` threads when a free thread takes the
    ready node first in ``priority`` order: ``"dbt"`` (lowest level, then unique id) or
    ``"longest_path"`` (the longest path behind it first, then unique id)."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    if priority == "dbt":
        levels = graph.levels()
        key = {node: (float(levels[node]), node) for node in graph.successors}
    elif priority == "longest_path":
        behind = graph.remaining()
        key = {node: (-behind[node], node) for node in graph.successors}
    else:
        raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
    waiting = {node: len(parents) for node, parents in graph.predecessors().items()}
    ready = [(key[node], node) for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    running: list[tuple[float, str]] = []
    now = 0.0
    while ready or running:
        while ready and len(running) < threads:
            _, node = heapq.heappop(ready)
            heapq.heappush(running, (now + graph.seconds[node], node))
        now, node = heapq.heappop(running)
        for child in graph.successors[node]:
            waiting[child] -= 1
            if waiting[child] == 0:
                heapq.heappush(ready, (key[child], child))
    return now


def longest_path(graph: BuildGraph) -> list[tuple[str, float]]:
    """The chain of nodes with the largest sum of times, first to last, with each node's
    seconds (the shortest any schedule can make the build)."""
    behind = graph.remaining()
    if not behind:
        return []
    parents = graph.predecessors()
    node = max((n for n in behind if not parents[n]), key=lambda n: (behind[n], n))
    chain = [(node, graph.seconds[node])]
    while graph.successors[node]:
        node = max(graph.successors[node], key=lambda n: (behind[n], n))
        chain.append((node, graph.seconds[node]))
    return chain


def summary(graph: BuildGraph, threads: int) -> dict:
    """The replays and the longest path of one build, for a results file."""
    chain = longest_path(graph)
    return {
        "threads": threads,
        "node_seconds": round(sum(graph.seconds.values()), 1),
        "replay_dbt_seconds": round(replay(graph, threads, "dbt"), 1),
        "replay_longest_path_seconds": round(replay(graph, threads, "longest_path"), 1),
        "longest_path_seconds": round(sum(seconds for _, seconds in chain), 1),
        "longest_path": [[node, round(seconds, 1)] for node, seconds in chain if seconds >= 0.5],
    }
