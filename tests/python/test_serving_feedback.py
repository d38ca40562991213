"""The feedback loop of the recommendation API (issue 15 §4) and its response cache (issue 11 §4):
the impression log, POST /v1/feedback, the signed request ids, the cache's hits and
invalidations, on the small hand-made bundle of serving_fixtures."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import serving_fixtures
from amazing_analytics.serving.app import create_app
from amazing_analytics.serving.cache import ResponseCache
from amazing_analytics.serving.feedback import FeedbackLog, RequestIds
from serving_fixtures import write_test_bundle

bundle_dir = serving_fixtures.bundle_dir  # the module-scoped fixture

SESSIONS = "/v1/sessions/recommendations"
FEEDBACK = "/v1/feedback"
NOW = datetime(2026, 12, 2, 9, 30, 15, 250000, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def feedback_dir(tmp_path: Path) -> Path:
    return tmp_path / "feedback"


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def make_app(bundle_dir: Path, tmp_path: Path, feedback_dir: Path, clock: Clock, **options):
    return create_app(
        bundle_dir,
        tmp_path / "gdpr_live",
        reload_interval=0,
        feedback_dir=feedback_dir,
        clock=clock,
        **options,
    )


@pytest.fixture()
def client(
    bundle_dir: Path, tmp_path: Path, feedback_dir: Path, clock: Clock
) -> Iterator[TestClient]:
    with TestClient(make_app(bundle_dir, tmp_path, feedback_dir, clock)) as test_client:
        yield test_client


def log_lines(feedback_dir: Path, kind: str) -> list[dict]:
    lines = []
    for path in sorted((feedback_dir / kind).glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines()]
    return lines


def flush(client: TestClient) -> None:
    client.app.state.serving.feedback.flush()


def test_every_answer_is_logged_once_with_the_contracts_fields(
    client: TestClient, feedback_dir: Path
) -> None:
    body = {"user_id": 1, "events": [{"product_id": 1001, "event_type": "view"}], "k": 3}
    answers = [
        (client.post(SESSIONS, json=body).json(), "/v1/sessions/recommendations", 1),
        (client.get("/v1/users/1/recommendations", params={"k": 2}).json(), None, 1),
        (client.get("/v1/products/1001/similar", params={"k": 2}).json(), None, None),
        (client.post(SESSIONS, json={"events": [], "k": 2}).json(), None, None),
    ]
    assert not (feedback_dir / "impressions").exists() or not log_lines(feedback_dir, "impressions")
    flush(client)  # buffered off the request path until the flusher (or the shutdown) writes
    lines = log_lines(feedback_dir, "impressions")
    assert len(lines) == len(answers)
    routes = [
        "/v1/sessions/recommendations",
        "/v1/users/{user_id}/recommendations",
        "/v1/products/{product_id}/similar",
        "/v1/sessions/recommendations",
    ]
    for line, (answer, _, user), route in zip(lines, answers, routes, strict=True):
        assert set(line) == {
            "request_id",
            "served_at",
            "user_id",
            "items",
            "model",
            "build_id",
            "route",
        }
        assert line["request_id"] == answer["request_id"]
        assert line["served_at"] == "2026-12-02T09:30:15.250Z"
        assert line["user_id"] == user
        assert line["items"] == [item["product_id"] for item in answer["items"]]
        assert line["model"] == answer.get("model", answer.get("method"))
        assert line["build_id"] == answer["build_id"]
        assert line["route"] == route
    assert lines[2]["model"] == "embedding"
    assert len({line["request_id"] for line in lines}) == len(lines)
    # one file per process and UTC day, named by the day
    files = list((feedback_dir / "impressions").glob("*.jsonl"))
    assert len(files) == 1 and files[0].name.startswith("2026-12-02_")


def test_the_buffer_is_written_at_shutdown(
    bundle_dir: Path, tmp_path: Path, feedback_dir: Path, clock: Clock
) -> None:
    app = make_app(bundle_dir, tmp_path, feedback_dir, clock, flush_interval=3600)
    with TestClient(app) as client:
        for k in (1, 2, 3):
            client.get("/v1/users/1/recommendations", params={"k": k})
        assert log_lines(feedback_dir, "impressions") == []
    assert [len(line["items"]) for line in log_lines(feedback_dir, "impressions")] == [1, 2, 3]


def test_opted_out_and_erased_shoppers_are_logged_without_their_id(
    client: TestClient, feedback_dir: Path, tmp_path: Path
) -> None:
    live = tmp_path / "gdpr_live"
    live.mkdir()
    (live / "erasure_requests.csv").write_text("user_id,requested_at\n5,2026-12-01\n")
    for user in (2, 3, 5, 999, 4):  # seed opt-out, seed erasure, live erasure, unknown, known
        assert client.get(f"/v1/users/{user}/recommendations").status_code == 200
    flush(client)
    assert [line["user_id"] for line in log_lines(feedback_dir, "impressions")] == [
        None,
        None,
        None,
        999,
        4,
    ]


def test_feedback_on_a_shown_product_is_recorded(
    client: TestClient, feedback_dir: Path, clock: Clock
) -> None:
    answer = client.get("/v1/users/1/recommendations", params={"k": 2}).json()
    clock.now = NOW + timedelta(minutes=3)
    product = answer["items"][0]["product_id"]
    sent = {"request_id": answer["request_id"], "product_id": product, "action": "click"}
    response = client.post(FEEDBACK, json=sent)
    assert response.status_code == 202, response.text
    assert response.json() == {
        "status": "recorded",
        **sent,
        "received_at": "2026-12-02T09:33:15.250000Z",
    }
    flush(client)
    assert log_lines(feedback_dir, "feedback") == [
        {**sent, "received_at": "2026-12-02T09:33:15.250Z"}
    ]


def test_feedback_with_an_unknown_request_id_gets_a_404(
    client: TestClient, feedback_dir: Path, clock: Clock
) -> None:
    issued = client.get("/v1/users/1/recommendations").json()["request_id"]
    head, signature = issued.rsplit(".", 1)
    other_key = RequestIds(b"another deployment", clock).issue(NOW)
    for request_id in (
        "made-up",
        "a.b.c.d",
        f"{head}.{'0' * len(signature)}",  # signature changed
        f"{head[:-1]}{'9' if head[-1] != '9' else '8'}.{signature}",  # counter changed
        other_key,  # signed by another key
    ):
        response = client.post(
            FEEDBACK, json={"request_id": request_id, "product_id": 1007, "action": "cart"}
        )
        assert response.status_code == 404, request_id
        assert response.json()["message"].startswith("unknown request_id")
    clock.now = NOW + timedelta(days=31)  # older than AMAZING_FEEDBACK_MAX_AGE_DAYS (30)
    old = client.post(FEEDBACK, json={"request_id": issued, "product_id": 1007, "action": "cart"})
    assert old.status_code == 404 and "30 days" in old.json()["message"]
    flush(client)
    assert log_lines(feedback_dir, "feedback") == []


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"product_id": 1, "action": "click"}, "request_id"),
        ({"request_id": "x", "action": "click"}, "product_id"),
        ({"request_id": "x", "product_id": 1, "action": "like"}, "action"),
        ({"request_id": "x", "product_id": "one", "action": "click"}, "product_id"),
        ({"request_id": "x", "product_id": 2**64, "action": "click"}, "product_id"),
        ({"request_id": "x" * 81, "product_id": 1, "action": "click"}, "request_id"),
        ({"request_id": "", "product_id": 1, "action": "click"}, "request_id"),
        ([1, 2], "body"),
    ],
)
def test_bad_feedback_bodies_get_a_422(client: TestClient, body, where: str) -> None:
    response = client.post(FEEDBACK, json=body)
    assert response.status_code == 422
    assert where in response.json()["message"]


def test_feedback_that_is_not_json_gets_a_422(client: TestClient) -> None:
    response = client.post(
        FEEDBACK, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["message"]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.one_of(
        st.dictionaries(
            st.sampled_from(["request_id", "product_id", "action", "extra"]),
            st.one_of(
                st.none(),
                st.booleans(),
                st.integers(),
                st.floats(allow_nan=False, allow_infinity=False),
                st.text(max_size=100),
                st.lists(st.integers(), max_size=3),
            ),
        ),
        st.lists(st.integers(), max_size=3),
        st.text(max_size=20),
    )
)
def test_fuzzed_feedback_never_gets_a_5xx(client: TestClient, body) -> None:
    response = client.post(FEEDBACK, json=body)
    assert response.status_code in (202, 404, 422), response.text


def test_workers_accept_each_others_request_ids(
    bundle_dir: Path, tmp_path: Path, feedback_dir: Path, clock: Clock
) -> None:
    """Two processes on one feedback directory share its key file: an answer given by one can
    get its feedback through the other, and each writes its own file."""
    first = TestClient(make_app(bundle_dir, tmp_path, feedback_dir, clock))
    second = TestClient(make_app(bundle_dir, tmp_path, feedback_dir, clock))
    with first, second:
        answer = first.get("/v1/users/1/recommendations").json()
        response = second.post(
            FEEDBACK,
            json={"request_id": answer["request_id"], "product_id": 1007, "action": "purchase"},
        )
        assert response.status_code == 202
    assert len(list((feedback_dir / "impressions").glob("*.jsonl"))) == 1
    assert len(list((feedback_dir / "feedback").glob("*.jsonl"))) == 1
    assert (feedback_dir / ".request_id_key").stat().st_mode & 0o777 == 0o600


def test_one_file_per_process_and_day(feedback_dir: Path) -> None:
    clock = Clock(datetime(2026, 12, 1, 23, 59, tzinfo=UTC))
    logs = [FeedbackLog(feedback_dir, clock), FeedbackLog(feedback_dir, clock)]
    for log in logs:
        log.impression(user_id=1, items=[1], model="m", build_id="b", route="r")
    clock.now = datetime(2026, 12, 2, 0, 1, tzinfo=UTC)
    logs[0].impression(user_id=1, items=[2], model="m", build_id="b", route="r")
    assert [log.flush() for log in logs] == [2, 1]
    names = sorted(p.name for p in (feedback_dir / "impressions").glob("*.jsonl"))
    assert [name[:10] for name in names] == ["2026-12-01", "2026-12-01", "2026-12-02"]
    assert len({name[11:] for name in names}) == 2  # two processes


def test_lines_that_cannot_be_written_are_kept_for_the_next_flush(tmp_path: Path) -> None:
    directory = tmp_path / "feedback"
    log = FeedbackLog(directory, Clock())
    log.impression(user_id=None, items=[1, 2], model="m", build_id="b", route="r")
    (directory / "impressions").write_text("a file where the folder should be")
    assert log.flush() == 0 and log.impressions.pending() == 1
    (directory / "impressions").unlink()
    assert log.flush() == 1 and len(log_lines(directory, "impressions")) == 1


def test_a_log_that_cannot_be_written_keeps_at_most_its_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from amazing_analytics.serving import feedback

    monkeypatch.setattr(feedback, "MAX_PENDING_LINES", 3)
    directory = tmp_path / "feedback"
    log = FeedbackLog(directory, Clock())
    (directory / "impressions").write_text("a file where the folder should be")
    for item in range(5):
        log.impression(user_id=None, items=[item], model="m", build_id="b", route="r")
    assert log.flush() == 0
    assert log.impressions.pending() == 3 and log.impressions.dropped == 2
    (directory / "impressions").unlink()
    assert log.flush() == 3
    assert [line["items"] for line in log_lines(directory, "impressions")] == [[2], [3], [4]]


# -- the response cache ------------------------------------------------------------------------


def cache_of(client: TestClient) -> ResponseCache:
    return client.app.state.serving.cache


def cache_hits_metric(client: TestClient) -> float:
    """The metric of the process (shared by every app of the test session)."""
    name = 'amazing_api_cache_requests_total{endpoint="sessions",result="hit"} '
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name):
            return float(line[len(name) :])
    return 0.0


def test_a_repeated_request_is_answered_from_the_cache(
    client: TestClient, feedback_dir: Path
) -> None:
    body = {
        "user_id": 1,
        "events": [
            {"product_id": 1002, "event_type": "view", "event_time": "2026-12-01T10:05:00"},
            {"product_id": 1001, "event_type": "view", "event_time": "2026-12-01T10:00:00"},
        ],
        "k": 4,
    }
    hits_before = cache_hits_metric(client)
    first = client.post(SESSIONS, json=body).json()
    assert cache_of(client).hits == 0 and cache_of(client).misses == 1
    # the same session at other times, in the same order: the same normalised request
    body["events"][0]["event_time"] = "2026-12-01T11:05:00"
    body["events"][1]["event_time"] = "2026-12-01T11:00:00"
    second = client.post(SESSIONS, json=body).json()
    assert cache_of(client).hits == 1
    assert second["request_id"] != first["request_id"]
    assert {**second, "request_id": ""} == {**first, "request_id": ""}
    # another k, another user, another order: computed
    client.post(SESSIONS, json={**body, "k": 5})
    client.post(SESSIONS, json={**body, "user_id": 4})
    body["events"][0]["event_time"] = "2026-12-01T10:55:00"
    client.post(SESSIONS, json=body)
    assert cache_of(client).hits == 1 and cache_of(client).misses == 4
    flush(client)
    assert len(log_lines(feedback_dir, "impressions")) == 5  # a cached answer is an impression
    assert cache_hits_metric(client) == hits_before + 1


def test_the_cache_is_emptied_by_an_opt_out(client: TestClient, tmp_path: Path) -> None:
    url = "/v1/users/4/recommendations"
    assert client.get(url).json()["is_personalised"] is True
    assert client.get(url).json()["is_personalised"] is True
    assert cache_of(client).hits == 1
    live = tmp_path / "gdpr_live"
    live.mkdir()
    (live / "personalisation_opt_outs.csv").write_text("user_id,opted_out_at\n4,2026-12-02\n")
    opted = client.get(url).json()
    assert opted["is_personalised"] is False
    assert cache_of(client).hits == 1 and cache_of(client).invalidations == 1
    # the session answer of the opted-out shopper is not a cached personalised one either
    body = {"user_id": 4, "events": [{"product_id": 1001, "event_type": "view"}]}
    assert client.post(SESSIONS, json=body).json()["is_personalised"] is False


def test_the_cache_is_emptied_by_a_new_bundle(
    tmp_path: Path, feedback_dir: Path, clock: Clock
) -> None:
    target = tmp_path / "serving"
    write_test_bundle(target)
    with TestClient(make_app(target, tmp_path, feedback_dir, clock)) as client:
        before = client.get("/v1/users/1/recommendations").json()
        assert client.get("/v1/users/1/recommendations").json()["build_id"] == before["build_id"]
        assert cache_of(client).hits == 1
        write_test_bundle(target, created_at=datetime(2026, 12, 2, tzinfo=UTC))
        assert client.app.state.serving.load_now()
        after = client.get("/v1/users/1/recommendations").json()
        assert after["build_id"] != before["build_id"]
        assert cache_of(client).hits == 1 and cache_of(client).invalidations == 1


def test_the_cache_is_bounded_and_expires() -> None:
    cache = ResponseCache(size=2, ttl_seconds=60)
    from amazing_analytics.serving.cache import CachedAnswer

    entry = CachedAnswer(b"}", (), "m", None)
    for key in ("a", "b", "c"):
        cache.put(key, entry)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") == entry
    expired = ResponseCache(size=2, ttl_seconds=-1)
    expired.put("a", entry)
    assert expired.get("a") is None
    off = ResponseCache(size=0)
    off.put("a", entry)
    assert len(off) == 0 and not off.enabled


@pytest.mark.parametrize(
    ("fast", "through_fastapi"),
    [
        ("/v1/users/1/recommendations?k=3", "/v1/users/1/recommendations?k=3&k=3"),
        ("/v1/users/999/recommendations", "/v1/users/999/recommendations?k=10&k=10"),
        (
            "/v1/products/1001/similar?k=2&method=bought_together",
            "/v1/products/1001/similar?k=2&k=2&method=bought_together",
        ),
    ],
)
def test_the_fast_path_answers_as_the_routes_do(
    client: TestClient, fast: str, through_fastapi: str
) -> None:
    """The middleware answers valid requests to the hot routes itself; a query it does not
    take (a repeated parameter) goes on to FastAPI's route: both give the same answer."""
    from amazing_analytics.serving.middleware import fast_answer

    state = client.app.state.serving
    path, _, query = fast.partition("?")
    assert fast_answer(state, "GET", path, query.encode(), b"") is not None
    path, _, query = through_fastapi.partition("?")
    assert fast_answer(state, "GET", path, query.encode(), b"") is None
    state.cache.size = 0  # both computed
    one, other = client.get(fast), client.get(through_fastapi)
    assert one.status_code == other.status_code == 200
    assert {**one.json(), "request_id": ""} == {**other.json(), "request_id": ""}
    assert one.headers["content-type"] == other.headers["content-type"] == "application/json"


def test_the_fast_path_leaves_every_invalid_request_to_fastapi(client: TestClient) -> None:
    from amazing_analytics.serving.middleware import fast_answer

    state = client.app.state.serving
    for method, path, query, body in [
        ("POST", "/v1/sessions/recommendations", b"", b"{not json"),
        ("POST", "/v1/sessions/recommendations", b"", b'{"k": 0}'),
        ("POST", "/v1/sessions/recommendations", b"", b""),
        ("GET", "/v1/users/1/recommendations", b"k=0", b""),
        ("GET", "/v1/users/1/recommendations", b"k=abc", b""),
        ("GET", "/v1/users/99999999999999999999/recommendations", b"", b""),
        ("GET", "/v1/users/1/recommendations/", b"", b""),
        ("GET", "/v1/products/42/similar", b"", b""),  # unknown product: the route's 404
        ("GET", "/v1/products/1001/similar", b"method=cosine", b""),
        ("PUT", "/v1/users/1/recommendations", b"", b""),
    ]:
        assert fast_answer(state, method, path, query, body) is None, (method, path, query)


def test_cached_answers_are_out_of_the_cycle_collectors_way() -> None:
    """Entries the collector tracks are traversed by every older-generation collection: with
    10,000 of them the pauses reached 15 ms of CPU. Keys and entries are untracked atoms."""
    from amazing_analytics.serving.cache import CachedAnswer

    cache = ResponseCache(size=10, ttl_seconds=60)
    key = ("sessions", 7, 10, ((1001, "view"), (1002, "cart")), False)
    answer = CachedAnswer(b',"items":[]}', (1003, 1004), "sknn", None)
    cache.put(key, answer)
    gc.collect()
    [(stored_key, entry)] = cache._entries.items()
    assert isinstance(stored_key, bytes)
    assert not gc.is_tracked(entry)
    assert cache.get(key) == answer
    assert cache.get(("sessions", 7, 10, ((1001, "view"),), False)) is None


def test_a_loaded_bundle_is_frozen_out_of_the_collections(tmp_path: Path) -> None:
    """After a bundle swap the heap is frozen: the automatic collections that run every few
    hundred requests no longer traverse the bundle (35-100 ms of CPU for one full collection
    over the 1.5M demo's bundle, measured)."""
    target = tmp_path / "serving"
    write_test_bundle(target)
    app = create_app(target, tmp_path / "gdpr", reload_interval=0, feedback_dir=tmp_path / "f")
    state = app.state.serving
    gc.unfreeze()
    assert state.load_now()
    assert gc.get_freeze_count() > 0
    assert not any(o is state.bundle.manifest for o in gc.get_objects())
    gc.unfreeze()
