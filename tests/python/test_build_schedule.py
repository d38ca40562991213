"""Replaying a dbt build's node times through dbt's queue and a longest-path-first queue, on
graphs whose schedules are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amazing_analytics.build_schedule import (
    BuildGraph,
    longest_path,
    replay,
    summary,
    threads_used,
)

#: Two shallow 20 s models and a chain of three 1 s models before a 30 s one. dbt takes the
#: shallow models first (level 0, then by id: x, y before z1); the chain then runs alone.
#: dbt, two threads: x, y 0-20; z1 20-21, z2 21-22, z3 22-23, zF 23-53.
#: Longest path first: z1 (33 s behind it) and x at 0; the chain ends at 33; y runs 20-40.
CHAIN = {"x": [], "y": [], "z1": ["z2"], "z2": ["z3"], "z3": ["zF"], "zF": []}
SECONDS = {"x": 20, "y": 20, "z1": 1, "z2": 1, "z3": 1, "zF": 30}


def test_dbts_queue_runs_the_deep_chain_last_and_the_longest_path_queue_first() -> None:
    graph = BuildGraph.from_parts(CHAIN, SECONDS)
    assert graph.levels() == {"x": 0, "y": 0, "z1": 0, "z2": 1, "z3": 2, "zF": 3}
    assert replay(graph, 2, "dbt") == 53.0
    assert replay(graph, 2, "longest_path") == 40.0
    assert replay(graph, 1, "dbt") == replay(graph, 1, "longest_path") == 73.0
    assert replay(graph, 3, "dbt") == 33.0  # a thread each: the chain is the build
    assert longest_path(graph) == [("z1", 1.0), ("z2", 1.0), ("z3", 1.0), ("zF", 30.0)]


def test_dbt_takes_a_shallower_ready_node_before_a_deeper_one_whatever_their_ids() -> None:
    # r (1 s) then a (10 s, level 1); s1-s3 (5 s, level 0). Two threads: r, s1 at 0; at 1 dbt
    # takes s2 (level 0) over a, which waits until 6 and ends at 16; by id or by the path
    # behind it, a starts at 1 and the build ends at 15.
    graph = BuildGraph.from_parts(
        {"r": ["a"], "s1": [], "s2": [], "s3": []}, {"r": 1, "a": 10, "s1": 5, "s2": 5, "s3": 5}
    )
    assert replay(graph, 2, "dbt") == 16.0
    assert replay(graph, 2, "longest_path") == 15.0


def test_a_node_waits_for_all_its_parents_and_unrun_nodes_take_no_time() -> None:
    # the source feeds a and b; c needs both: 0 + max(4, 6) + 5 whatever the threads
    graph = BuildGraph.from_parts(
        {"source": ["a", "b"], "a": ["c"], "b": ["c"]}, {"a": 4, "b": 6, "c": 5}
    )
    assert graph.seconds["source"] == 0.0
    assert graph.remaining() == {"source": 11.0, "a": 9.0, "b": 11.0, "c": 5.0}
    assert replay(graph, 2) == 11.0
    assert replay(graph, 1) == 15.0
    assert [node for node, _ in longest_path(graph)] == ["source", "b", "c"]


def test_the_summary_reads_a_builds_target_directory(tmp_path: Path) -> None:
    """graph_summary.json numbers its nodes and names them; run_results.json times them."""
    names = list(CHAIN)
    (tmp_path / "graph_summary.json").write_text(
        json.dumps(
            {
                "_invocation_id": "x",
                "linked": {},
                "with_test_edges": {
                    str(i): {"name": name, "succ": [names.index(s) for s in CHAIN[name]]}
                    for i, name in enumerate(names)
                },
            }
        )
    )
    (tmp_path / "run_results.json").write_text(
        json.dumps(
            {
                "results": [
                    # dbt's own thread runs the hooks; two worker threads ran the nodes
                    {"unique_id": n, "execution_time": s, "thread_id": f"Thread-{i % 2 + 1}"}
                    for i, (n, s) in enumerate(SECONDS.items())
                ]
            }
        )
    )
    assert threads_used(tmp_path) == 2
    one_worker = tmp_path / "one_worker"
    one_worker.mkdir()
    (one_worker / "run_results.json").write_text(
        json.dumps(
            {
                "results": [
                    {"unique_id": "hook", "execution_time": 0.1, "thread_id": "main"},
                    {"unique_id": "model", "execution_time": 5.0, "thread_id": "Thread-1"},
                ]
            }
        )
    )
    assert threads_used(one_worker) == 1  # dbt's main thread runs the hooks, not the models
    result = summary(BuildGraph.from_target(tmp_path), threads=threads_used(tmp_path))
    assert result == {
        "threads": 2,
        "node_seconds": 73.0,
        "replay_dbt_seconds": 53.0,
        "replay_longest_path_seconds": 40.0,
        "longest_path_seconds": 33.0,
        "longest_path": [["z1", 1.0], ["z2", 1.0], ["z3", 1.0], ["zF", 30.0]],
    }


def test_bad_graphs_and_settings_are_refused() -> None:
    graph = BuildGraph.from_parts(CHAIN, SECONDS)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        replay(graph, 0)
    with pytest.raises(ValueError, match="priority must be one of dbt, longest_path"):
        replay(graph, 2, "alphabetical")
    with pytest.raises(ValueError, match="not in the graph: ghost"):
        BuildGraph.from_parts(CHAIN, {**SECONDS, "ghost": 3})
    with pytest.raises(ValueError, match="has a cycle"):
        BuildGraph.from_parts({"a": ["b"], "b": ["a"]}, {}).levels()
