"""The feedback loop end to end (issue 15 §4): scripts/replay_feedback.py replays hand-made
sessions through the API on the small bundle of serving_fixtures, then `dbt build` reads the
impression and feedback files into recommendation_performance, whose counts are known."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient

from amazing_analytics.serving.app import create_app
from conftest import REPO, Build
from serving_fixtures import write_test_bundle

HEADER = (
    "event_time,event_type,product_id,category_id,category_code,brand,price,user_id,user_session"
)
#: (session, user, [(time, event type, product)]): every session has 2 events, so the replay
#: asks after the first and the second is the feedback (or not) on what was shown.
SESSIONS = [
    ("s1", "1", [("2019-11-10 10:00:00", "view", 1001), ("2019-11-10 10:01:00", "view", 1002)]),
    ("s2", "4", [("2019-11-10 11:00:00", "view", 1001), ("2019-11-10 11:02:00", "cart", 1002)]),
    ("s3", "", [("2019-11-10 12:00:00", "view", 1001), ("2019-11-10 12:03:00", "purchase", 1002)]),
    ("s4", "5", [("2019-11-11 09:00:00", "view", 1001), ("2019-11-11 09:05:00", "view", 1009)]),
    # two days later user 4 comes back to 1002, which s2 showed them, and buys it: a conversion
    # without feedback (the API never shows the product being looked at)
    ("s5", "4", [("2019-11-12 15:00:00", "view", 1002), ("2019-11-12 15:10:00", "purchase", 1002)]),
]


#: a shopper on the erasure list in the reconciliation test (no event of theirs is needed)
ERASED = 77


def load_replay():
    spec = importlib.util.spec_from_file_location(
        "replay_feedback", REPO / "scripts" / "replay_feedback.py"
    )
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules["replay_feedback"] = module
    spec.loader.exec_module(module)
    return module


def write_sessions(path: Path) -> None:
    lines = [HEADER]
    for session, user, events in SESSIONS:
        for at, kind, product in events:
            category = 10 if product <= 1005 else 20
            lines.append(f"{at} UTC,{kind},{product},{category},,acme,10.0,{user},{session}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def expected_answer(bundle: Path, tmp_path: Path, user: str, product: int) -> list[int]:
    """What the API shows after the first event of a session (the replay's request)."""
    app = create_app(bundle, tmp_path / "no_live", reload_interval=0, feedback_dir=tmp_path / "x")
    with TestClient(app) as client:
        body = {
            "user_id": int(user) if user else None,
            "events": [{"product_id": product, "event_type": "view"}],
            "k": 2,
        }
        return [
            item["product_id"]
            for item in client.post("/v1/sessions/recommendations", json=body).json()["items"]
        ]


def run_replay(replay, bundle: Path, events: Path, feedback: Path, live: Path) -> dict:
    return replay.main(
        ["--bundle", str(bundle), "--events", str(events), "--feedback-dir", str(feedback)]
        + ["--gdpr-live", str(live), "--sessions", "100", "--k", "2"]
    )


def build_mart(build_events: Callable[..., Build], project: Path, demo: Path) -> Build:
    """The mart and its parents over the files in ``demo`` and a generated shop around them
    (so that every parent has data to build from)."""
    from amazing_analytics.generate import generate_events

    generate_events(20_000, 5, demo)
    return build_events(
        project,
        str(demo / "*.csv*"),
        "--select",
        "+recommendation_performance",
        "+recommendation_log_reconciliation",
        "--indirect-selection",
        "cautious",
    )


def test_the_replay_logs_answers_and_feedback(tmp_path: Path) -> None:
    replay = load_replay()
    bundle = tmp_path / "serving"
    write_test_bundle(bundle)
    events = tmp_path / "events" / "sessions.csv"
    write_sessions(events)
    feedback = tmp_path / "feedback"
    summary = run_replay(replay, bundle, events, feedback, tmp_path / "live")
    shown = {s: expected_answer(bundle, tmp_path, u, e[0][2]) for s, u, e in SESSIONS}
    # the fixture's neighbours put 1002 first after a view of 1001; 1009 is never shown there
    assert all(shown[s][0] == 1002 for s in ("s1", "s2", "s3", "s4"))
    assert 1002 not in shown["s5"] and 1009 not in shown["s4"]
    assert summary == {
        "sessions": 5,
        "answers_200": 5,
        "impressions": sum(len(items) for items in shown.values()),
        "feedback_202": 3,
        "click": 1,
        "cart": 1,
        "purchase": 1,
    }
    impressions = [
        json.loads(line)
        for path in sorted((feedback / "impressions").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    # dated by the sessions' own times (the replay's clock), in session order
    assert [line["served_at"] for line in impressions] == [
        "2019-11-10T10:00:00.000Z",
        "2019-11-10T11:00:00.000Z",
        "2019-11-10T12:00:00.000Z",
        "2019-11-11T09:00:00.000Z",
        "2019-11-12T15:00:00.000Z",
    ]
    assert [line["user_id"] for line in impressions] == [1, 4, None, 5, 4]
    assert sorted(p.name[:10] for p in (feedback / "impressions").glob("*.jsonl")) == [
        "2019-11-10",
        "2019-11-11",
        "2019-11-12",
    ]
    sent = [
        json.loads(line)
        for path in sorted((feedback / "feedback").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    assert sorted((line["action"], line["product_id"]) for line in sent) == [
        ("cart", 1002),
        ("click", 1002),
        ("purchase", 1002),
    ]


def test_recommendation_performance_from_the_replayed_files(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build]
) -> None:
    replay = load_replay()
    bundle = tmp_path / "serving"
    write_test_bundle(bundle)
    sessions = tmp_path / "demo" / "hand_made_sessions.csv"
    write_sessions(sessions)
    feedback = dbt_project / "warehouse" / "feedback"  # the default: beside the warehouse file
    run_replay(replay, bundle, sessions, feedback, tmp_path / "live")
    logged = sum(
        len(json.loads(line)["items"])
        for p in (feedback / "impressions").glob("*.jsonl")
        for line in p.read_text().splitlines()
    )
    add_lines_the_build_leaves_out(feedback)
    (dbt_project / "seeds" / "gdpr_erasure_requests.csv").write_text(
        f"user_id,requested_at,request_reference\n{ERASED},2019-11-20 00:00:00,REQ-1\n"
    )
    build = build_mart(build_events, dbt_project, tmp_path / "demo")
    rows = build.query(
        """
        select day, model, rank, segment, impressions, clicks, carts, purchases, carts_in_logs,
            purchases_in_logs, conversions, click_through_rate, conversion_rate, status
        from marts.recommendation_performance
        where rank = 1
        order by day, segment
        """
    )
    segment = dict(
        build.query(
            "select user_id, segment_name from marts.customer_segments where user_id in (1, 4, 5)"
        )
    )
    day10, day11, day12 = (datetime(2019, 11, d, tzinfo=UTC).date() for d in (10, 11, 12))
    # rank 1 on the 10th: s1 (user 1, clicked), s2 (user 4, carted by feedback and in the logs,
    # bought 2 days later in the logs), s3 (anonymous, bought by feedback)
    by_key: dict[tuple, list] = {}
    for row in rows:
        by_key.setdefault((row[0], row[3]), []).append(row)
    anonymous = by_key[(day10, "Anonymous")]
    assert [r[4:11] for r in anonymous] == [(1, 0, 0, 1, 0, 0, 1)]
    model = build.scalar(
        "select distinct model from marts.recommendation_performance where day = '2019-11-10' and segment = 'Anonymous'"
    )
    assert model == "vsknn_history"
    day10_known = [
        r
        for (day, seg), group in by_key.items()
        if day == day10 and seg != "Anonymous"
        for r in group
    ]
    totals = [sum(r[i] for r in day10_known) for i in range(4, 11)]
    # impressions, clicks, carts, purchases, carts_in_logs, purchases_in_logs, conversions
    assert totals == [2, 1, 1, 0, 1, 1, 1]
    user4 = [r for r in day10_known if r[3] == segment.get(4, "Not segmented")]
    assert sum(r[9] for r in user4) == 1  # the purchase two days later is user 4's
    assert sum(r[4] for r in by_key[(day11, segment.get(5, "Not segmented"))]) == 1
    assert all(r[4] == 1 and r[10] == 0 for r in by_key[(day12, segment.get(4, "Not segmented"))])
    assert {r[13] for r in rows} == {"few_impressions"}  # var feedback_min_impressions is 30
    total = build.scalar("select sum(impressions) from marts.recommendation_performance")
    assert total == logged
    # every line of the two logs accounted for: the replay's 5 answers and 3 actions, and the
    # hand-made lines of add_lines_the_build_leaves_out, each with its reason
    lines = build.query(
        "select log_name, outcome, lines from marts.recommendation_log_reconciliation"
    )
    assert {(log, outcome): count for log, outcome, count in lines} == {
        ("impressions", "counted"): 5,
        ("impressions", "repeated"): 1,
        ("impressions", "erased_shopper"): 1,
        ("impressions", "unreadable_or_incomplete"): 3,
        ("feedback", "counted"): 3,
        ("feedback", "repeated"): 1,
        ("feedback", "product_not_in_the_answer"): 1,
        ("feedback", "no_answer_logged"): 1,
        ("feedback", "answer_of_an_erased_shopper"): 1,
        ("feedback", "unreadable_or_incomplete"): 3,
    }
    assert "warn_recommendation_log_lines_not_counted" in build.output
    assert "assert_recommendation_logs_reconcile" in build.output


def add_lines_the_build_leaves_out(feedback: Path) -> None:
    """Hand-made lines beside the replay's: an answer logged twice, a cut impression line, one
    without its time, one whose time cannot be read and the answer of a shopper since erased; a click sent twice, feedback on a
    product the answer did not show, on a request id never answered, on the erased shopper's
    answer, a cut line, one without its product and an unknown action."""
    impressions = sorted((feedback / "impressions").glob("*.jsonl"))
    first = impressions[0].read_text().splitlines()[0]
    answer = json.loads(first)
    no_time = json.dumps({**answer, "request_id": "no-time", "served_at": None})
    bad_time = json.dumps({**answer, "request_id": "bad-time", "served_at": "yesterday"})
    erased = json.dumps({**answer, "request_id": "erased-answer", "user_id": ERASED})
    (feedback / "impressions" / "2019-11-12_handmade.jsonl").write_text(
        "\n".join([first, '{"request_id": "cut', no_time, bad_time, erased]) + "\n"
    )
    sent = sorted((feedback / "feedback").glob("*.jsonl"))
    click = next(
        line
        for path in sent
        for line in path.read_text().splitlines()
        if json.loads(line)["action"] == "click"
    )
    at = json.loads(click)["received_at"]

    def line(request_id: str, product_id: int | None, action: str) -> str:
        return json.dumps(
            {
                "request_id": request_id,
                "product_id": product_id,
                "action": action,
                "received_at": at,
            }
        )

    (feedback / "feedback" / "2019-11-12_handmade.jsonl").write_text(
        "\n".join(
            [
                click,
                line(answer["request_id"], 999_999, "click"),
                line("never-answered", answer["items"][0], "click"),
                line("erased-answer", answer["items"][0], "click"),
                '{"request_id": "cut", "prod',
                line(answer["request_id"], None, "click"),
                line(answer["request_id"], answer["items"][0], "like"),
            ]
        )
        + "\n\n"
    )


def test_the_build_passes_without_a_feedback_dir(
    tmp_path: Path, dbt_project: Path, build_events: Callable[..., Build]
) -> None:
    build = build_mart(build_events, dbt_project, tmp_path / "demo")
    assert build.query("select impressions, status from marts.recommendation_performance") == [
        (0, "no_impressions")
    ]
    assert "warn_recommendation_performance_no_impressions" in build.output
    lines = build.query(
        "select log_name, outcome, lines from marts.recommendation_log_reconciliation"
    )
    assert len(lines) == 10 and all(count == 0 for _, _, count in lines)
