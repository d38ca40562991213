"""The recommendation API on a small hand-made bundle (FastAPI TestClient), and once for real
over HTTP (uvicorn in a subprocess)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import httpx
import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import serving_fixtures
from amazing_analytics.ml.recommend.models import MODEL_NAMES
from amazing_analytics.ml.recommend.session import SessionItem, recommend_for_session
from amazing_analytics.serving.app import create_app
from amazing_analytics.serving.bundle import BundleError
from amazing_analytics.serving.recommend import (
    OPTED_OUT_WARNING,
    UNKNOWN_USER_WARNING,
    _Answer,
    _embedding_fill,
)
from amazing_analytics.serving.store import BATCH_SOURCES, EmbeddingIndex, load_bundle
from serving_fixtures import write_test_bundle

bundle_dir = serving_fixtures.bundle_dir  # the module-scoped fixture

SESSIONS = "/v1/sessions/recommendations"
POPULAR_ALL = [1010, 1006, 1004, 1003, 1009, 1005, 1001, 1002]


@pytest.fixture()
def gdpr_dir(tmp_path: Path) -> Path:
    return tmp_path / "gdpr_live"


@pytest.fixture()
def client(bundle_dir: Path, gdpr_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(bundle_dir, gdpr_dir, reload_interval=0)) as test_client:
        yield test_client


def without_id(answer: dict) -> dict:
    """The answer without its request id (a new one for every answer, signed: 4 parts)."""
    answer = dict(answer)
    assert len(answer.pop("request_id").split(".")) == 4
    return answer


def ids(answer: dict) -> list[int]:
    return [item["product_id"] for item in answer["items"]]


def session(client: TestClient, **body) -> dict:
    response = client.post(SESSIONS, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_field_of_a_session_answer(client: TestClient, bundle_dir: Path) -> None:
    answer = session(
        client,
        user_id=1,
        events=[
            {"product_id": 1001, "event_type": "view"},
            {"product_id": 99, "event_type": "cart"},
        ],
        k=5,
    )
    bundle = load_bundle(bundle_dir)
    assert set(answer) == {
        "request_id",
        "items",
        "model",
        "build_id",
        "is_personalised",
        "warnings",
    }
    assert answer["build_id"] == bundle.build_id
    assert answer["model"] == "vsknn_history"
    assert answer["is_personalised"] is True
    assert answer["warnings"] == ["unknown product ids ignored: 99"]
    for item in answer["items"]:
        assert set(item) == {"product_id", "score", "reason", "source"}
    # the live session first: what the session model scores, with the shopper's history
    # (1005, 1001 viewed not bought) and never what they bought (1003, a phone) nor the
    # current product (1001)
    expected = recommend_for_session(
        [SessionItem(1001, "view")],
        bundle.neighbours,
        5,
        history=[1005, 1001],
        exclude={1003, 1001},
        model="vsknn_history",
        params={"history_weight": 0.5},
    )
    assert expected, "the fixture's session must score something"
    n = len(expected)
    assert ids(answer)[:n] == [item.product_id for item in expected]
    assert [i["source"] for i in answer["items"][:n]] == [item.source for item in expected]
    assert answer["items"][0] == {
        "product_id": 1002,
        "score": pytest.approx(expected[0].score),
        "reason": "Because you viewed acme smartphone",
        "source": "session",
    }
    # then the shopper's embedding (user 1 points at kettles: 1008, 1007, 1009 - a kettle
    # bought before may come back, kettles are a repeat-purchase category)
    rest = [i for i in answer["items"][n:]]
    assert all(i["source"] == "embedding" for i in rest)
    assert [i["product_id"] for i in rest] == [
        p for p in [1008, 1007, 1009, 1010] if p not in ids(answer)[:n]
    ][: len(rest)]
    assert 1003 not in ids(answer) and 1001 not in ids(answer)


@pytest.mark.parametrize("seed", range(5))
def test_the_embedding_fill_gives_tied_products_to_the_lower_id(seed: int) -> None:
    # Products without interactions share their features' vector and bias: a shopper's scores
    # of them tie. 30 of 300 products share the best vector; a list of 5 with 2 products
    # blocked takes the 5 lowest ids of the 30 that are not blocked, whatever a partition does.
    rng = np.random.default_rng(seed)
    vectors = rng.normal(0, 0.1, (300, 4)).astype(np.float32)
    tied = np.sort(rng.choice(300, 30, replace=False))
    vectors[tied] = [1.0, 1.0, 0.0, 0.0]
    product_ids = np.arange(300, dtype=np.int64) * 7 + 1000
    index = EmbeddingIndex(
        product_ids=product_ids,
        vectors=vectors,
        biases=np.zeros(300, np.float32),
        user_ids=np.array([1], np.int64),
        user_vectors=np.array([[1.0, 1.0, 0.0, 0.0]], np.float32),
    )
    blocked = {int(product_ids[tied[0]]), int(product_ids[tied[3]])}
    answer = _Answer(k=5, blocked=set(blocked))
    _embedding_fill(SimpleNamespace(embeddings=index), answer, 1)
    expected = [int(p) for p in product_ids[tied] if int(p) not in blocked][:5]
    assert [item["product_id"] for item in answer.items] == expected


def test_anonymous_session_fills_from_the_latest_products_category(client: TestClient) -> None:
    answer = session(client, events=[{"product_id": 1005, "event_type": "view"}], k=4)
    # 1005's neighbour, then popular in its category (10: 1004; 1005 itself is in the session),
    # then overall
    assert answer["items"][0]["product_id"] == 1006
    assert answer["items"][0]["source"] == "session"
    assert answer["items"][0]["reason"] == "Because you viewed smartphone 1005"
    assert answer["items"][1] == {
        "product_id": 1004,
        "score": 10.0,
        "reason": "Popular in electronics.smartphone",
        "source": "popularity",
    }
    assert ids(answer)[2:] == [1010, 1003]
    assert answer["is_personalised"] is True
    assert answer["warnings"] == []


def test_event_times_put_the_events_in_order(client: TestClient) -> None:
    events = [
        {"product_id": 1005, "event_type": "view", "event_time": "2026-12-01T10:05:00Z"},
        {"product_id": 1001, "event_type": "view", "event_time": "2026-12-01T10:00:00"},
    ]
    answer = session(client, events=events, k=2)
    # the latest product is 1005 (10:05): its category is the popularity context
    assert answer["items"][0]["product_id"] in (1002, 1006)
    unordered = session(client, events=[events[0], {"product_id": 1001, "event_type": "view"}], k=2)
    assert unordered["warnings"] == [
        "event_time is missing on some events: the events are taken in the order sent"
    ]


def test_empty_events_and_no_user_get_popularity(client: TestClient) -> None:
    answer = session(client, events=[], k=3)
    assert ids(answer) == POPULAR_ALL[:3]
    assert answer["is_personalised"] is False
    assert answer["model"] == "popularity"
    assert {i["source"] for i in answer["items"]} == {"popularity"}
    assert answer["items"][0]["reason"] == "Popular right now"
    assert answer["warnings"] == []
    full = session(client)
    assert ids(full) == POPULAR_ALL
    assert full["warnings"] == ["only 8 products could be recommended (k=10)"]


def test_only_unknown_products_get_popularity_and_are_named(client: TestClient) -> None:
    answer = session(
        client,
        events=[{"product_id": p, "event_type": "view"} for p in (5, 3, 5, 4)],
        k=3,
    )
    assert ids(answer) == POPULAR_ALL[:3]
    assert answer["is_personalised"] is False
    assert answer["warnings"] == ["unknown product ids ignored: 3, 4, 5"]


def test_unknown_user_sessions_use_the_session_only(client: TestClient) -> None:
    answer = session(
        client, user_id=424242, events=[{"product_id": 1005, "event_type": "view"}], k=2
    )
    assert ids(answer) == [1006, 1004]
    assert answer["warnings"] == [UNKNOWN_USER_WARNING]


def test_the_users_nightly_list(client: TestClient, bundle_dir: Path) -> None:
    response = client.get("/v1/users/1/recommendations", params={"k": 4})
    assert response.status_code == 200
    answer = without_id(response.json())
    assert answer == {
        "items": [
            {
                "product_id": 1007,
                "score": 0.9,
                "reason": "Because you viewed kettlr kettle",
                "source": "embedding",
            },
            {
                "product_id": 1008,
                "score": 0.8,
                "reason": "Because you viewed kettlr kettle",
                "source": "embedding",
            },
            {
                "product_id": 1010,
                "score": 50.0,
                "reason": "Popular right now",
                "source": "popularity",
            },
            # filled from overall popularity, without 1003 (bought, not a repeat category)
            {
                "product_id": 1006,
                "score": 20.0,
                "reason": "Popular right now",
                "source": "popularity",
            },
        ],
        "model": "lightfm",
        "build_id": load_bundle(bundle_dir).build_id,
        "is_personalised": True,
        "warnings": [],
    }
    default = client.get("/v1/users/1/recommendations").json()
    assert ids(default) == [1007, 1008, 1010, 1006, 1004, 1009, 1005, 1001, 1002]
    knn = client.get("/v1/users/6/recommendations", params={"k": 1}).json()
    assert knn["items"][0]["source"] == "history" and knn["model"] == "lightfm"


def _with_list_from(model: str, reason: str) -> pa.Table:
    """The fixture's lists plus user 6's first row made by ``model``."""
    rows = serving_fixtures.recommendations().to_pylist()
    for row in rows:
        if row["user_id"] == 6:
            row.update(model=model, reason=reason, score=0.0185)
    return pa.Table.from_pylist(rows, schema=serving_fixtures.recommendations().schema)


def test_a_recently_viewed_list_is_labelled_as_the_shoppers_history(tmp_path: Path) -> None:
    """A list the batch model 'recently viewed, not yet bought' made is personal: its items say
    'history' and the answer is not reported as a popularity fallback (it once was: the API
    labelled every recently_viewed row popularity, with a 'You looked at it recently' reason)."""
    target = tmp_path / "serving"
    write_test_bundle(
        target, recommendations=_with_list_from("recently_viewed", "You looked at it recently")
    )
    with TestClient(create_app(target, tmp_path / "gdpr", reload_interval=0)) as client:
        answer = client.get("/v1/users/6/recommendations", params={"k": 2}).json()
    first = answer["items"][0]
    assert first == {
        "product_id": 1002,
        "score": 0.0185,
        "reason": "You looked at it recently",
        "source": "history",
    }
    assert answer["is_personalised"] is True
    assert answer["model"] == "lightfm"  # the bundle's served batch model (the manifest's)


def test_every_batch_model_has_a_source_and_an_unknown_producer_is_refused(
    tmp_path: Path,
) -> None:
    assert set(BATCH_SOURCES) == set(MODEL_NAMES)
    target = tmp_path / "serving"
    write_test_bundle(target, recommendations=_with_list_from("deep_magic", "Trust us"))
    with pytest.raises(BundleError, match="model\\(s\\) deep_magic have no source name"):
        load_bundle(target)


def test_unknown_and_erased_users_get_the_same_popularity(client: TestClient) -> None:
    unknown = without_id(client.get("/v1/users/999/recommendations", params={"k": 3}).json())
    erased = without_id(client.get("/v1/users/3/recommendations", params={"k": 3}).json())
    assert unknown == erased
    assert ids(unknown) == POPULAR_ALL[:3]
    assert unknown["is_personalised"] is False
    assert unknown["warnings"] == [UNKNOWN_USER_WARNING]
    body = {"events": [{"product_id": 1005, "event_type": "view"}], "k": 3}
    erased_session = without_id(session(client, user_id=3, **body))
    assert erased_session == without_id(session(client, user_id=999, **body))


def test_opted_out_users_get_popularity_and_their_events_are_not_used(client: TestClient) -> None:
    answer = session(client, user_id=2, events=[{"product_id": 1005, "event_type": "cart"}], k=3)
    assert ids(answer) == POPULAR_ALL[:3]
    assert answer["is_personalised"] is False
    assert answer["model"] == "popularity"
    assert answer["warnings"] == [OPTED_OUT_WARNING]
    listed = client.get("/v1/users/2/recommendations", params={"k": 3}).json()
    assert ids(listed) == POPULAR_ALL[:3] and listed["is_personalised"] is False


def _write_live(gdpr_dir: Path, name: str, header: str, user_ids: list[int]) -> None:
    gdpr_dir.mkdir(parents=True, exist_ok=True)
    path = gdpr_dir / name
    tmp = path.with_suffix(".tmp")
    tmp.write_text(header + "\n" + "".join(f"{u},2026-12-01T12:00:00Z\n" for u in user_ids))
    tmp.replace(path)


def test_live_opt_out_and_opt_in_apply_at_the_next_request(
    client: TestClient, gdpr_dir: Path
) -> None:
    url = "/v1/users/4/recommendations"
    assert client.get(url).json()["is_personalised"] is True
    _write_live(gdpr_dir, "personalisation_opt_outs.csv", "user_id,opted_out_at", [4])
    opted = client.get(url).json()
    assert opted["is_personalised"] is False and ids(opted) == POPULAR_ALL
    in_session = session(
        client, user_id=4, events=[{"product_id": 1001, "event_type": "view"}], k=3
    )
    assert in_session["warnings"] == [OPTED_OUT_WARNING]
    _write_live(gdpr_dir, "personalisation_opt_outs.csv", "user_id,opted_out_at", [])
    assert client.get(url).json()["is_personalised"] is True


def test_live_erasure_makes_the_user_unknown(client: TestClient, gdpr_dir: Path) -> None:
    before = client.get("/v1/users/5/recommendations", params={"k": 2}).json()
    assert ids(before)[0] == 1004
    _write_live(gdpr_dir, "erasure_requests.csv", "user_id,requested_at", [5])
    erased = without_id(client.get("/v1/users/5/recommendations", params={"k": 2}).json())
    unknown = client.get("/v1/users/998/recommendations", params={"k": 2}).json()
    assert erased == without_id(unknown)


def test_similar_products(client: TestClient) -> None:
    answer = without_id(client.get("/v1/products/1001/similar", params={"k": 1}).json())
    assert answer == {
        "product_id": 1001,
        "method": "embedding",
        "items": [{"product_id": 1002, "score": 0.99, "reason": "Similar shoppers look at both"}],
        "build_id": answer["build_id"],
        "warnings": [],
    }
    together = client.get(
        "/v1/products/1001/similar", params={"method": "bought_together", "k": 5}
    ).json()
    assert together["items"] == [
        {"product_id": 1006, "score": 3.0, "reason": "Bought together in 3 sessions"}
    ]
    assert together["warnings"] == [
        "only 1 product similar by bought_together known for this product (k=5)"
    ]
    none = client.get("/v1/products/1010/similar").json()
    assert none["items"] == []


def test_similar_unknown_product_and_bad_method(client: TestClient) -> None:
    response = client.get("/v1/products/77/similar")
    assert response.status_code == 404
    assert response.json()["message"].startswith("product 77 is not in serving bundle")
    bad = client.get("/v1/products/1001/similar", params={"method": "magic"})
    assert bad.status_code == 422
    assert "query.method" in bad.json()["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"k": 0}, "k"),
        ({"k": 101}, "k"),
        ({"k": "ten"}, "k"),
        ({"user_id": "bob"}, "user_id"),
        ({"user_id": 2**63}, "user_id"),
        ({"events": [{"product_id": "x", "event_type": "view"}]}, "events.0.product_id"),
        ({"events": [{"product_id": 1, "event_type": "like"}]}, "events.0.event_type"),
        ({"events": [{"product_id": 1}]}, "events.0.event_type"),
        (
            {"events": [{"product_id": 1, "event_type": "view", "event_time": "noon"}]},
            "events.0.event_time",
        ),
        ({"events": [{"product_id": 1001, "event_type": "view"}] * 201}, "events"),
        ({"events": {"product_id": 1}}, "events"),
    ],
)
def test_bad_bodies_get_a_422_with_a_clear_message(
    client: TestClient, body: dict, where: str
) -> None:
    response = client.post(SESSIONS, json=body)
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert message.startswith("invalid request - ")
    assert f"{where}:" in message


def test_invalid_json_and_wrong_body_types(client: TestClient) -> None:
    broken = client.post(
        SESSIONS, content=b'{"events": [', headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["message"] == (
        "invalid request - body: not valid JSON "
        "(Invalid JSON: EOF while parsing a list at line 1 column 12)"
    )
    listed = client.post(SESSIONS, json=[1, 2])
    assert listed.status_code == 422
    empty = client.post(SESSIONS, content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 422
    assert empty.json()["message"] == "invalid request - body: a JSON object is required"
    assert session(client, events=[])["is_personalised"] is False  # {} is a valid body


def test_bodies_over_64_kb_get_a_413(client: TestClient) -> None:
    padding = "x" * (64 * 1024)
    response = client.post(SESSIONS, json={"events": [], "padding": padding})
    assert response.status_code == 413
    assert "65536-byte limit" in response.json()["message"]

    def chunks():  # no content-length: counted while reading
        for _ in range(70):
            yield b" " * 1024

    streamed = client.post(SESSIONS, content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


@pytest.mark.parametrize(
    "url",
    [
        "/v1/users/abc/recommendations",
        "/v1/users/1/recommendations?k=0",
        "/v1/users/1/recommendations?k=101",
        f"/v1/users/{2**64}/recommendations",
        "/v1/products/1001/similar?k=-1",
    ],
)
def test_bad_paths_and_queries_get_a_422(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 422


def test_health_readiness_and_metrics(client: TestClient, bundle_dir: Path) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    bundle = load_bundle(bundle_dir)
    assert ready["status"] == "ready"
    assert ready["build_id"] == bundle.build_id
    assert ready["created_at"] == "2026-12-01T12:00:00Z"
    expected_age = (datetime.now(UTC) - bundle.created_at).total_seconds()
    assert abs(ready["bundle_age_seconds"] - expected_age) < 60
    assert ready["load_seconds"] >= 0
    client.get("/v1/users/31337/recommendations")
    client.post(SESSIONS, json={"k": 0})
    page = client.get("/metrics")
    assert page.headers["content-type"].startswith("text/plain")
    text = page.text
    assert (
        'amazing_api_requests_total{method="GET",route="/v1/users/{user_id}/recommendations",status="200"}'
        in text
    )
    assert 'route="/v1/sessions/recommendations",status="422"' in text
    assert "amazing_api_request_duration_seconds_bucket{" in text
    assert 'amazing_api_popularity_fallbacks_total{endpoint="users",reason="unknown_user"}' in text
    assert f'amazing_bundle_info{{build_id="{bundle.build_id}"}} 1.0' in text
    assert "amazing_bundle_age_seconds " in text
    assert "31337" not in text  # no user id in a label


def test_not_ready_without_a_bundle(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "none", tmp_path / "gdpr", reload_interval=0)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "not_ready"
        assert "no serving bundle" in ready.json()["message"]
        assert client.get("/healthz").status_code == 200
        answer = client.post(SESSIONS, json={})
        assert answer.status_code == 503
        assert answer.json()["message"].startswith("not ready")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
events = st.lists(
    st.fixed_dictionaries(
        {
            "product_id": st.one_of(
                st.integers(), st.sampled_from([1001, 1005, 1009]), json_values
            ),
            "event_type": st.one_of(
                st.sampled_from(["view", "cart", "remove_from_cart", "purchase"]), json_values
            ),
        },
        optional={"event_time": st.one_of(st.datetimes().map(datetime.isoformat), json_values)},
    ),
    max_size=8,
)
bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {},
        optional={
            "user_id": st.one_of(st.integers(), st.sampled_from([1, 2, 3, 4, None]), json_values),
            "events": st.one_of(events, json_values),
            "k": st.one_of(st.integers(min_value=-5, max_value=120), json_values),
        },
    ),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies)
def test_fuzzed_bodies_never_get_a_5xx(client: TestClient, body) -> None:
    response = client.post(SESSIONS, json=body)
    assert response.status_code in (200, 422), (body, response.text)
    if response.status_code == 200:
        answer = response.json()
        assert len(answer["items"]) <= body.get("k", 10)
        assert len(set(ids(answer))) == len(answer["items"])


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(user=st.text(max_size=30), k=st.text(max_size=5), method=st.text(max_size=12))
def test_fuzzed_paths_never_get_a_5xx(client: TestClient, user: str, k: str, method: str) -> None:
    segment = quote(user, safe="")
    for url, params in (
        (f"/v1/users/{segment}/recommendations", {"k": k}),
        (f"/v1/products/{segment}/similar", {"k": k, "method": method}),
    ):
        assert client.get(url, params=params).status_code < 500


def test_a_new_bundle_is_picked_up_during_requests(tmp_path: Path) -> None:
    target = tmp_path / "serving"
    write_test_bundle(target)
    old = load_bundle(target).build_id
    failures: list[str] = []
    seen: set[str] = set()
    stop = threading.Event()
    with TestClient(create_app(target, tmp_path / "gdpr", reload_interval=0.02)) as client:

        def hammer() -> None:
            while not stop.is_set():
                response = client.post(
                    SESSIONS,
                    json={"user_id": 1, "events": [{"product_id": 1001, "event_type": "view"}]},
                )
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    seen.add(response.json()["build_id"])

        workers = [threading.Thread(target=hammer) for _ in range(3)]
        for worker in workers:
            worker.start()
        try:
            time.sleep(0.2)
            new = write_test_bundle(target, created_at=datetime(2026, 12, 2, tzinfo=UTC))
            new_id = new.column("build_id")[0].as_py()
            deadline = time.monotonic() + 10
            while client.get("/readyz").json()["build_id"] != new_id:
                assert time.monotonic() < deadline, "the new bundle was not picked up"
                time.sleep(0.02)
            time.sleep(0.2)
            # a broken bundle is not loaded: the last good one keeps serving
            broken = target.parent / ".serving-builds" / new_id / "manifest.json"
            manifest = json.loads(broken.read_text())
            broken.write_text(json.dumps({**manifest, "format_version": 0}))
            time.sleep(0.2)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        assert client.get("/readyz").json()["build_id"] == new_id
        assert "format_version 0" in client.get("/readyz").json()["message"]
    assert failures == []
    assert seen == {old, new_id}


def _free_port() -> int:
    # the project's sessions use 127.0.0.1:8100-8199; any free port otherwise
    for port in range(8100, 8200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_server(
    bundle_dir: Path, tmp_path: Path, *options: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen, Path, str]:
    """`amazing serve` on a free loopback port, its output in tmp_path/server.log: the process,
    the log and the base URL."""
    port = _free_port()
    log = tmp_path / "server.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "amazing_analytics.cli",
                "serve",
                "--bundle",
                str(bundle_dir),
                "--port",
                str(port),
                *options,
                "--gdpr-live",
                str(tmp_path / "gdpr"),
                "--feedback-dir",
                str(tmp_path / "feedback"),
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return server, log, f"http://127.0.0.1:{port}"


def _wait_ready(
    server: subprocess.Popen, log: Path, base: str, seconds: float, in_a_row: int = 1
) -> None:
    """Until /readyz answers 200 on ``in_a_row`` fresh connections running; the server's log in
    the failure when it exits or the time runs out."""
    deadline = time.monotonic() + seconds
    ready = 0
    while ready < in_a_row:
        try:
            ready = ready + 1 if httpx.get(f"{base}/readyz", timeout=1).is_success else 0
        except httpx.TransportError:
            ready = 0
        assert server.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def test_the_real_server_over_http(bundle_dir: Path, tmp_path: Path) -> None:
    server, log, base = _start_server(bundle_dir, tmp_path)
    try:
        _wait_ready(server, log, base, 60)
        answer = httpx.post(
            f"{base}{SESSIONS}",
            json={
                "user_id": 876543210,
                "events": [{"product_id": 1005, "event_type": "view"}],
                "k": 2,
            },
        )
        assert answer.status_code == 200
        assert ids(answer.json()) == [1006, 1004]
        listed = httpx.get(f"{base}/v1/users/876543211/recommendations")
        assert listed.json()["is_personalised"] is False
        request_id = answer.json()["request_id"]
        sent = {"request_id": request_id, "product_id": 1006, "action": "click"}
        assert httpx.post(f"{base}/v1/feedback", json=sent).status_code == 202
        assert httpx.get(f"{base}/docs").status_code == 200
        assert "/v1/sessions/recommendations" in httpx.get(f"{base}/openapi.json").json()["paths"]
        assert "amazing_api_requests_total" in httpx.get(f"{base}/metrics").text
    finally:
        server.terminate()
        server.wait(timeout=30)
    # the buffered impressions and feedback were written at the graceful shutdown (SIGTERM)
    logged = {
        kind: [
            json.loads(line)
            for path in (tmp_path / "feedback" / kind).glob("*.jsonl")
            for line in path.read_text().splitlines()
        ]
        for kind in ("impressions", "feedback")
    }
    assert [line["request_id"] for line in logged["impressions"]] == [
        request_id,
        listed.json()["request_id"],
    ]
    assert [line["user_id"] for line in logged["impressions"]] == [876543210, 876543211]
    assert [line["action"] for line in logged["feedback"]] == ["click"]
    text = log.read_text()
    assert "POST /v1/sessions/recommendations 200" in text
    assert "GET /v1/users/{user_id}/recommendations 200" in text
    assert "876543210" not in text and "876543211" not in text


def test_metrics_add_up_every_workers_requests(bundle_dir: Path, tmp_path: Path) -> None:
    """With two workers each process counts its own requests; `amazing serve` shares them
    through a multiprocess metrics directory, so every scrape, whichever worker answers it,
    counts all the requests."""
    server, log, base = _start_server(
        bundle_dir,
        tmp_path,
        "--workers",
        "2",
        env={k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
    )
    line = (
        'amazing_api_requests_total{method="GET",'
        'route="/v1/users/{user_id}/recommendations",status="200"}'
    )
    try:
        # both workers have loaded the bundle when two fresh connections in a row say so
        _wait_ready(server, log, base, 90, in_a_row=2)
        for user in range(30):  # a new connection each: the kernel spreads them over workers
            assert httpx.get(f"{base}/v1/users/{user}/recommendations").status_code == 200
        for _ in range(4):
            counted = [
                float(row.split()[-1])
                for row in httpx.get(f"{base}/metrics").text.splitlines()
                if row.startswith(line)
            ]
            assert counted == [30.0]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "metrics of the 2 workers shared through" in log.read_text()


def test_serve_without_a_bundle_is_a_clear_error(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from amazing_analytics.cli import app

    result = CliRunner().invoke(app, ["serve", "--bundle", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "no serving bundle" in result.output


def test_live_lists_skip_lines_without_an_id_and_survive_a_missing_dir(tmp_path: Path) -> None:
    from amazing_analytics.serving.gdpr_live import LiveGdprLists

    lists = LiveGdprLists(tmp_path / "absent")
    assert lists.opted_out() == frozenset() and lists.erased() == frozenset()
    live = tmp_path / "live"
    live.mkdir()
    (live / "personalisation_opt_outs.csv").write_text(
        "user_id,opted_out_at\n7,2026-01-01\nnot-an-id,2026-01-01\n,\n 8 ,2026-01-02\n"
    )
    lists = LiveGdprLists(live)
    assert lists.opted_out() == frozenset({7, 8})
    (live / "personalisation_opt_outs.csv").unlink()
    assert lists.opted_out() == frozenset()


def test_the_gdpr_opt_out_command_reaches_the_api_at_once(
    client: TestClient, gdpr_dir: Path, tmp_path: Path
) -> None:
    """Issue 13: `amazing gdpr opt-out` writes the live list the running API reloads, without a
    rebuild; `opt-in` gives the personalised list back."""
    from typer.testing import CliRunner

    from amazing_analytics.cli import app

    project = tmp_path / "project"
    (project / "seeds").mkdir(parents=True)
    env = {"AMAZING_GDPR_LIVE_DIR": str(gdpr_dir)}
    options = ["--project", str(project), "--warehouse", str(tmp_path / "w.duckdb")]
    url = "/v1/users/4/recommendations"
    personalised = client.get(url).json()
    assert personalised["is_personalised"] is True

    result = CliRunner().invoke(app, ["gdpr", "opt-out", "4", *options], env=env)
    assert result.exit_code == 0, result.output
    opted = client.get(url).json()
    assert opted["is_personalised"] is False and ids(opted) == POPULAR_ALL
    seed = (project / "seeds" / "gdpr_personalisation_opt_outs.csv").read_text()
    assert seed.splitlines()[0] == "user_id,opted_out_at" and seed.splitlines()[1].startswith("4,")

    result = CliRunner().invoke(app, ["gdpr", "opt-in", "4", *options], env=env)
    assert result.exit_code == 0, result.output
    assert without_id(client.get(url).json()) == without_id(personalised)


def test_a_server_process_uses_one_blas_thread() -> None:
    """A second OpenBLAS thread spin-waits on a core the other worker needs: 10x the CPU of
    one user's scores with 100k products on the 2-core machine."""
    code = (
        "import numpy, threadpoolctl\n"
        "from amazing_analytics.serving.app import single_threaded_blas\n"
        "single_threaded_blas()\n"
        "print(max(p['num_threads'] for p in threadpoolctl.threadpool_info()"
        " if p['user_api'] == 'blas'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "1"
