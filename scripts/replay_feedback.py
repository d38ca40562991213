"""Replay demo sessions through the recommendation API with feedback (make replay-feedback).

The feedback loop end to end, on the demo: each replayed session asks the API for
recommendations at a point of the session (the session so far, with its user id), and what the
shopper did next in the logs becomes feedback on the products shown: a later view of a shown
product is a click, a cart a cart, a purchase a purchase (POST /v1/feedback with the answer's
request id). The API writes its impression and feedback logs; `dbt build --select
+recommendation_performance` then reads them.

In process (the default) the app runs inside this script on a clock that replays the sessions'
own times, so the answers are dated when the shopper was browsing and the build can also match
them against the later events of the logs (conversion without feedback). With --url the
requests go to a running server instead; its clock is the real one, so only the explicit
feedback can be matched (the logs are in the past).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

#: the later event that becomes the feedback on a shown product
ACTIONS = {"view": "click", "cart": "cart", "purchase": "purchase"}


@dataclass(frozen=True)
class Event:
    product_id: int
    event_type: str
    event_time: datetime


@dataclass(frozen=True)
class Session:
    user_id: int | None
    events: tuple[Event, ...]


def load_sessions(events_glob: str, count: int, seed: int) -> list[Session]:
    """A seeded sample of the sessions with at least 2 events, in time order."""
    literal = events_glob.replace("'", "''")
    rows = (
        duckdb.connect()
        .execute(
            f"""
        with events as (
            select user_session, try_cast(user_id as bigint) as user_id,
                try_cast(product_id as bigint) as product_id, event_type,
                try_strptime(event_time, '%Y-%m-%d %H:%M:%S UTC') as event_time
            from read_csv('{literal}', header = true, all_varchar = true)
            where user_session is not null and user_session <> ''
                and event_type in ('view', 'cart', 'remove_from_cart', 'purchase')
        ),
        sessions as (
            select user_session, any_value(user_id) as user_id, min(event_time) as started_at,
                list(struct_pack(product_id := product_id, event_type := event_type,
                     event_time := event_time) order by event_time, product_id) as events
            from events
            where product_id is not null and event_time is not null
            group by user_session
            having count(*) >= 2
        ),
        sampled as (
            select * from sessions using sample reservoir({int(count)} rows) repeatable ({int(seed)})
        )
        select user_id, events from sampled order by started_at, user_id
        """
        )
        .fetchall()
    )
    return [
        Session(
            user_id=int(user) if user is not None else None,
            events=tuple(
                Event(
                    int(e["product_id"]),
                    str(e["event_type"]),
                    e["event_time"].replace(tzinfo=UTC),
                )
                for e in events
            ),
        )
        for user, events in rows
    ]


class ReplayClock:
    """The API's clock during an in-process replay: the time of the event being replayed."""

    def __init__(self) -> None:
        self.now = datetime(2000, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def feedback_for(session: Session, cut: int, shown: list[int]) -> list[tuple[Event, str]]:
    """The later events of the session on shown products, as (event, action); each action on a
    product is sent once, at its first occurrence."""
    shown_set = set(shown)
    sent: set[tuple[int, str]] = set()
    out = []
    for event in session.events[cut:]:
        action = ACTIONS.get(event.event_type)
        if action is None or event.product_id not in shown_set:
            continue
        if (event.product_id, action) in sent:
            continue
        sent.add((event.product_id, action))
        out.append((event, action))
    return out


def replay(
    client,
    sessions: list[Session],
    *,
    seed: int,
    k: int = 10,
    clock: ReplayClock | None = None,
) -> dict:
    """Ask for recommendations at a seeded point of each session and send the feedback.
    ``client`` is an httpx-style client (TestClient in process, httpx.Client for --url)."""
    rng = random.Random(seed)
    counts: Counter = Counter()
    for session in sessions:
        cut = rng.randint(1, len(session.events) - 1)
        so_far = session.events[:cut]
        if clock is not None:
            clock.now = so_far[-1].event_time
        answer = client.post(
            "/v1/sessions/recommendations",
            json={
                "user_id": session.user_id,
                "events": [
                    {
                        "product_id": e.product_id,
                        "event_type": e.event_type,
                        "event_time": e.event_time.isoformat(),
                    }
                    for e in so_far
                ],
                "k": k,
            },
        )
        counts[f"answers_{answer.status_code}"] += 1
        if answer.status_code != 200:
            continue
        body = answer.json()
        shown = [item["product_id"] for item in body["items"]]
        counts["impressions"] += len(shown)
        for event, action in feedback_for(session, cut, shown):
            if clock is not None:
                clock.now = event.event_time
            sent = client.post(
                "/v1/feedback",
                json={
                    "request_id": body["request_id"],
                    "product_id": event.product_id,
                    "action": action,
                },
            )
            counts[f"feedback_{sent.status_code}"] += 1
            if sent.status_code == 202:
                counts[action] += 1
    return dict(sorted(counts.items()))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("warehouse/serving"))
    parser.add_argument("--events", default="data/demo/*.csv.gz", help="glob of demo event files")
    parser.add_argument(
        "--feedback-dir",
        type=Path,
        default=None,
        help="where the API writes its logs (default $AMAZING_FEEDBACK_DIR, else beside the warehouse)",
    )
    parser.add_argument("--gdpr-live", type=Path, default=None)
    parser.add_argument("--sessions", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", default="", help="a running API instead of an in-process one")
    args = parser.parse_args(argv)

    sessions = load_sessions(args.events, args.sessions, args.seed)
    if not sessions:
        raise SystemExit(f"no session with 2 events or more in {args.events}")
    if args.url:
        import httpx

        with httpx.Client(base_url=args.url, timeout=10) as client:
            summary = replay(client, sessions, seed=args.seed, k=args.k)
        where = "the server's feedback directory"
    else:
        from fastapi.testclient import TestClient

        from amazing_analytics.serving.app import create_app
        from amazing_analytics.serving.bundle import BundleError
        from amazing_analytics.serving.feedback import feedback_dir
        from amazing_analytics.serving.gdpr_live import gdpr_live_dir

        if not (args.bundle / "manifest.json").exists():
            raise SystemExit(f"no serving bundle at {args.bundle}: run `make build` first")
        target = args.feedback_dir or feedback_dir()
        clock = ReplayClock()
        app = create_app(
            args.bundle,
            args.gdpr_live or gdpr_live_dir(),
            reload_interval=0,
            feedback_dir=target,
            clock=clock,
        )
        try:
            with TestClient(app) as client:
                summary = replay(client, sessions, seed=args.seed, k=args.k, clock=clock)
        except BundleError as error:
            raise SystemExit(str(error)) from error
        where = str(target)
    summary = {"sessions": len(sessions), **summary}
    print(json.dumps(summary))
    print(
        f"logged in {where}; next: `dbt build --select +recommendation_performance` "
        "(or `make build`)",
        file=sys.stderr,
    )
    return summary


if __name__ == "__main__":
    main()
