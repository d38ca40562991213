"""Replaying a dbt build's node times through dbt's queue and a longest-path-first queue, on
graphs whose schedules are worked out by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from amazing_analytics.build_schedule import (
    BuildGraph,
    longest_path,
    longest_path_first,
    longest_path_scores,
    node_seconds,
    replay,
    summary,
    target_path,
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


def test_the_scores_put_the_longest_path_behind_first_and_time_new_nodes_at_the_median() -> None:
    scores = longest_path_scores(CHAIN, SECONDS)
    assert scores == {"x": -20.0, "y": -20.0, "z1": -33.0, "z2": -32.0, "z3": -31.0, "zF": -30.0}
    # a node the timed build did not have counts the median time (x, y, z1-z3, zF: 10.5 s)
    grown = {**CHAIN, "zF": ["new"], "new": []}
    assert longest_path_scores(grown, SECONDS)["z1"] == -43.5
    assert longest_path_scores({"a": [], "b": []}, {}) == {"a": -1.0, "b": -1.0}


def _queue_order(successors: dict[str, list[str]]) -> list[str]:
    """The order dbt-core's own GraphQueue hands out the nodes, one at a time."""
    import networkx as nx
    from dbt.graph.queue import GraphQueue

    graph = nx.DiGraph()
    graph.add_nodes_from(successors)
    graph.add_edges_from(
        (node, child) for node, children in successors.items() for child in children
    )
    # the queue hands out what the manifest says a node is: here, its id
    manifest = type("Manifest", (), {"expect": staticmethod(lambda node_id: node_id)})()
    queue = GraphQueue(graph, manifest, set(successors))
    order = []
    while not queue.empty():
        order.append(queue.get(block=False))
        queue.mark_done(order[-1])
    return order


def test_dbts_queue_follows_the_longest_path_inside_the_block_and_its_own_order_after() -> None:
    """dbt-core's GraphQueue itself: by level, then id (x, y, z1 ...) outside the block; inside,
    z1 (33 s behind it) before x and y; dbt's scoring is back once the block is left."""
    from dbt.graph.queue import GraphQueue

    own = GraphQueue._get_scores
    assert _queue_order(CHAIN) == ["x", "y", "z1", "z2", "z3", "zF"]
    with longest_path_first(SECONDS) as applied:
        assert applied
        assert _queue_order(CHAIN) == ["z1", "z2", "z3", "zF", "x", "y"]
    assert GraphQueue._get_scores is own
    assert _queue_order(CHAIN) == ["x", "y", "z1", "z2", "z3", "zF"]
    with longest_path_first({}) as applied:  # no times: dbt's order
        assert not applied
        assert _queue_order(CHAIN) == ["x", "y", "z1", "z2", "z3", "zF"]


def test_the_times_and_the_target_directory_are_found_as_dbt_finds_them(tmp_path: Path) -> None:
    assert node_seconds(tmp_path) == {}  # no build yet
    (tmp_path / "run_results.json").write_text("{not json")
    assert node_seconds(tmp_path) == {}
    (tmp_path / "run_results.json").write_text(
        json.dumps({"results": [{"unique_id": "model.p.a", "execution_time": 2.5}]})
    )
    assert node_seconds(tmp_path) == {"model.p.a": 2.5}
    (tmp_path / "dbt_project.yml").write_text("name: p\ntarget-path: out\n")
    env = {"DBT_PROJECT_DIR": str(tmp_path)}
    assert target_path([], env) == tmp_path / "out"
    assert target_path(["--project-dir", str(tmp_path)], {}) == tmp_path / "out"
    assert target_path(["--select", "a"], {**env, "DBT_TARGET_PATH": "/t"}) == Path("/t")
    assert target_path(["--target-path", "/a"], {"DBT_TARGET_PATH": "/t"}) == Path("/a")
    assert target_path(["--target-path=/b"], env) == Path("/b")
    assert target_path([], {"DBT_PROJECT_DIR": str(tmp_path / "none")}) == tmp_path / "none/target"


def test_amazing_build_runs_dbt_build_in_the_order_of_the_given_times(
    dbt_project: Path, tmp_path: Path
) -> None:
    """`amazing build` on the seeds, one thread, with times saying the alphabetically last seed
    takes longest: dbt's order would load it last (every seed is level 0, then by id); it runs
    first. What is built does not change: every seed loads."""
    import os
    import subprocess
    import sys

    timed = tmp_path / "timed"
    timed.mkdir()
    slow = "segment_actions"
    names = sorted(path.stem for path in (dbt_project / "seeds").glob("*.csv"))
    timings = [
        {"unique_id": f"seed.amazing.{name}", "execution_time": 1.0 + 99.0 * (name == slow)}
        for name in names
    ]
    (timed / "run_results.json").write_text(json.dumps({"results": timings}))
    warehouse = dbt_project / "warehouse" / "test.duckdb"
    warehouse.parent.mkdir(parents=True)
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "amazing"),
            "build",
            "--schedule-from",
            str(timed),
            "--resource-type",
            "seed",
            "--threads",
            "1",
            "--project-dir",
            str(dbt_project),
        ],
        cwd=dbt_project,
        env={
            **os.environ,
            "AMAZING_WAREHOUSE": str(warehouse),
            "DBT_PROFILES_DIR": str(dbt_project),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_USE_COLORS": "false",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-4000:]
    assert f"order: longest path first, from {len(names)} node times in {timed}" in output
    results = json.loads((dbt_project / "target" / "run_results.json").read_text())["results"]
    seeds = [r["unique_id"] for r in results if r["unique_id"].startswith("seed.")]
    assert seeds[0] == f"seed.amazing.{slow}" == f"seed.amazing.{names[-1]}"
    assert sorted(seeds) == [f"seed.amazing.{name}" for name in names]
    assert {r["status"] for r in results} == {"success"}
