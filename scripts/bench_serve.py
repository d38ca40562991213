"""Load test of the recommendation API (make bench-serve).

Starts `amazing serve` (uvicorn, uvloop + httptools, access log off) on a loopback port, replays
real sessions of the demo logs against it at a fixed rate with a bounded open-loop asyncio
client (raw sockets, keep-alive, at most --connections requests in flight), then steps the rate
up to find the knee (the highest rate whose p99 stays under 10 ms with no error).

Latency is measured from the moment a request was *due* (not when a free connection sent it),
so a server falling behind shows up in the figures instead of slowing the client down
(no coordinated omission). The client shares the machine's cores with the server.

Requests: the sessions of the demo events (time order), each cut at a random point so the
request carries the session so far; 80 % POST /v1/sessions/recommendations (the session, with
its user id), 15 % GET /v1/users/{id}/recommendations, 5 % GET /v1/products/{id}/similar.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np

HERE = Path(__file__).resolve().parent.parent


@dataclass
class Results:
    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    sent: int = 0

    def summary(self) -> dict:
        lat = np.asarray(self.latencies) * 1000
        out = {
            "target_rate": self.rate,
            "seconds": round(self.seconds, 1),
            "requests": int(lat.size),
            "achieved_rate": round(lat.size / self.seconds, 1) if self.seconds else 0.0,
            "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }
        if lat.size:
            for q in (50, 90, 99, 99.9):
                out[f"p{q}_ms"] = round(float(np.percentile(lat, q)), 3)
            out["max_ms"] = round(float(lat.max()), 3)
        out["p99_ms_by_kind"] = {
            kind: round(float(np.percentile(np.asarray(v) * 1000, 99)), 3)
            for kind, v in sorted(self.by_kind.items())
            if v
        }
        return out


def load_requests(events_glob: str, count: int, seed: int) -> list[tuple[str, bytes]]:
    """(kind, raw HTTP/1.1 request) replayed from the demo sessions."""
    con = duckdb.connect()
    rows = con.execute(
        f"""
        with events as (
            select user_session, user_id, product_id, event_type, event_time
            from read_csv('{events_glob}', header = true, all_varchar = true)
            where user_session is not null and product_id is not null
                and event_type in ('view', 'cart', 'remove_from_cart', 'purchase')
        ),
        sessions as (
            select user_session, any_value(user_id) as user_id,
                list(struct_pack(product_id := product_id, event_type := event_type)
                     order by event_time) as events
            from events
            group by user_session
        )
        select user_id, events from sessions using sample reservoir({count} rows) repeatable ({seed})
        """
    ).fetchall()
    rng = random.Random(seed)
    out: list[tuple[str, bytes]] = []
    for user_id, events in rows:
        user = int(user_id) if user_id and user_id.isdigit() else None
        cut = rng.randint(1, min(len(events), 200))
        body_events = [
            {"product_id": int(e["product_id"]), "event_type": e["event_type"]}
            for e in events[:cut]
        ]
        draw = rng.random()
        if draw < 0.80 or user is None:
            body = json.dumps({"user_id": user, "events": body_events, "k": 10}).encode()
            head = (
                "POST /v1/sessions/recommendations HTTP/1.1\r\nHost: bench\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            out.append(("sessions", head + body))
        elif draw < 0.95:
            out.append(
                (
                    "users",
                    f"GET /v1/users/{user}/recommendations?k=10 HTTP/1.1\r\nHost: bench\r\n\r\n".encode(),
                )
            )
        else:
            product = body_events[-1]["product_id"]
            method = rng.choice(["embedding", "bought_together"])
            out.append(
                (
                    "similar",
                    f"GET /v1/products/{product}/similar?k=10&method={method} HTTP/1.1\r\n"
                    "Host: bench\r\n\r\n".encode(),
                )
            )
    return out


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
            break
    if length:
        await reader.readexactly(length)
    return status


async def run_rate(
    host: str,
    port: int,
    requests: list[tuple[str, bytes]],
    rate: float,
    seconds: float,
    connections: int,
) -> Results:
    results = Results(rate=rate, seconds=seconds)
    queue: asyncio.Queue = asyncio.Queue()
    total = int(rate * seconds)
    # perf_counter, not loop.time(): uvloop's clock has a 1 ms resolution and is cached per
    # loop iteration, which would round every latency up to whole milliseconds
    clock = time.perf_counter

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while True:
                item = await queue.get()
                if item is None:
                    return
                due, kind, raw = item
                try:
                    writer.write(raw)
                    status = await _read_response(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    results.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                latency = clock() - due
                results.latencies.append(latency)
                results.by_kind.setdefault(kind, []).append(latency)
                results.statuses[status] = results.statuses.get(status, 0) + 1
                if status >= 500:
                    results.errors += 1
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    start = clock() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - clock()
        if delay > 0:
            await asyncio.sleep(delay)
        kind, raw = requests[i % len(requests)]
        queue.put_nowait((due, kind, raw))
        results.sent += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    results.seconds = max(clock() - start, 1e-9)
    return results


def _asgi_request(raw: bytes) -> tuple[dict, bytes]:
    """An ASGI scope and body from one raw HTTP/1.1 request of ``load_requests``."""
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *header_lines = head.split(b"\r\n")
    method, target, _ = request_line.split(b" ")
    path, _, query = target.partition(b"?")
    headers = [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(b":") for line in header_lines)
    ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method.decode(),
        "scheme": "http",
        "path": path.decode(),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    return scope, body


async def _time_in_process(app, requests: list[tuple[str, bytes]], count: int) -> dict:
    prepared = [(kind, *_asgi_request(raw)) for kind, raw in requests]
    statuses: dict[int, int] = {}
    by_kind: dict[str, list[float]] = {}

    async def call(scope: dict, body: bytes) -> int:
        sent = False
        status = 0

        async def receive() -> dict:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope), receive, send)
        return status

    for _kind, scope, body in prepared[: min(200, len(prepared))]:  # warm-up
        await call(scope, body)
    clock = time.perf_counter
    cpu = time.process_time
    started, cpu_started = clock(), cpu()
    for i in range(count):
        kind, scope, body = prepared[i % len(prepared)]
        t0 = clock()
        status = await call(scope, body)
        by_kind.setdefault(kind, []).append(clock() - t0)
        statuses[status] = statuses.get(status, 0) + 1
    wall, used = clock() - started, cpu() - cpu_started
    return {
        "requests": count,
        "distinct_requests": len(prepared),
        "cpu_us_per_request": round(used / count * 1e6, 1),
        "wall_us_per_request": round(wall / count * 1e6, 1),
        "median_us_by_kind": {
            kind: round(float(np.median(values)) * 1e6, 1)
            for kind, values in sorted(by_kind.items())
        },
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def in_process(bundle: Path, requests: list[tuple[str, bytes]], count: int, cache: bool) -> dict:
    """CPU per request through the ASGI app, without the network and the server (issue 11 §4:
    where the service's own time goes). ``cache`` False switches the response cache off (every
    request computed); True keeps it, so the replayed requests seen before are hits."""
    import tempfile

    from amazing_analytics.serving.app import create_app
    from amazing_analytics.serving.cache import ResponseCache

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            bundle,
            Path(tmp) / "gdpr_live",
            reload_interval=0,
            feedback_dir=Path(tmp) / "feedback",
            cache=ResponseCache(size=None if cache else 0),
        )

        async def run() -> dict:
            async with app.router.lifespan_context(app):
                return await _time_in_process(app, requests, count)

        return asyncio.run(run())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the server and its workers (the load-independent cost)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in (pid, *_children(pid)):
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def tree_rss_mb(pid: int) -> float:
    """Resident memory of the server and its worker processes."""
    total = rss_mb(pid)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                total += rss_mb(int(entry.name))
    return total


def start_server(
    bundle: Path, port: int, workers: int = 1, feedback_dir: Path | None = None
) -> subprocess.Popen:
    env = {**os.environ, "AMAZING_RELOAD_INTERVAL": "5"}
    if feedback_dir is not None:  # the bench's impressions are not the shop's
        env["AMAZING_FEEDBACK_DIR"] = str(feedback_dir)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "amazing_analytics.cli",
            "serve",
            "--bundle",
            str(bundle),
            "--port",
            str(port),
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_ready(port: int, server: subprocess.Popen, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited: {server.stderr.read().decode()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as answer:
                return json.loads(answer.read())
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not become ready")


def synthetic_bundle(target: Path, users: int, products: int, seed: int) -> None:
    """A bundle at the sizes of a big build (for the load time and memory), through the same
    writer: 10 listed products and 10 history rows per user (the 1.5M build has 10.5), 50 neighbours and 20 similar
    products per product, 16-dimensional embeddings."""
    import pyarrow as pa

    from amazing_analytics.serving.bundle import SCHEMAS, write_bundle

    rng = np.random.default_rng(seed)
    product_ids = np.arange(1, products + 1, dtype=np.int64) * 7 + 1_000_000
    user_ids = np.arange(1, users + 1, dtype=np.int64) * 3 + 500_000_000

    def per(keys: np.ndarray, n: int, key: str, other: str, rank: str) -> dict:
        return {
            key: np.repeat(keys, n),
            other: rng.choice(product_ids, keys.size * n),
            rank: np.tile(np.arange(1, n + 1, dtype=np.int32), keys.size),
        }

    def embeddings(key: str, ids: np.ndarray, bias: str) -> pa.Table:
        flat = rng.standard_normal(ids.size * 16).astype(np.float32)
        offsets = pa.array(np.arange(0, (ids.size + 1) * 16, 16, dtype=np.int32))
        return pa.table(
            {
                key: ids,
                bias: rng.standard_normal(ids.size),
                "embedding": pa.ListArray.from_arrays(offsets, pa.array(flat)),
            }
        )

    lists = per(user_ids, 10, "user_id", "product_id", "rank")
    history = per(user_ids, 10, "user_id", "product_id", "history_rank")
    neighbours = per(product_ids, 50, "product_id", "neighbour_product_id", "neighbour_rank")
    similar = per(product_ids, 20, "product_id", "similar_product_id", "rank")
    categories = rng.integers(1, 500, products)
    tables = {
        "products": pa.table(
            {
                "product_id": product_ids,
                "category_id": categories,
                "category_code": [f"family{c % 13}.kind{c}" for c in categories],
                "category_level_1": [f"family{c % 13}" for c in categories],
                "brand": ["brand"] * products,
                "description": [f"brand kind{c}" for c in categories],
                "is_repeat_purchase_category": categories % 5 == 0,
            }
        ),
        "user_recommendations": pa.table(
            {
                **lists,
                "score": rng.random(users * 10),
                "model": ["lightfm"] * (users * 10),
                "reason": ["Because you viewed brand kind1"] * (users * 10),
            }
        ),
        "user_history": pa.table(
            {
                **history,
                "is_bought": rng.random(users * 10) < 0.1,
                "last_event_at": pa.array(
                    np.full(users * 10, np.datetime64("2020-04-01T00:00:00", "us"))
                ),
            }
        ),
        "session_item_neighbours": pa.table(
            {
                **neighbours,
                "score": rng.random(products * 50),
                "source": ["session"] * (products * 50),
            }
        ),
        "similar_products": pa.table(
            {
                **similar,
                "method": ["embedding", "bought_together"] * (products * 10),
                "score": rng.random(products * 20),
                "reason": ["Similar shoppers look at both"] * (products * 20),
            }
        ),
        "item_embeddings": embeddings("product_id", product_ids, "item_bias"),
        "user_embeddings": embeddings("user_id", user_ids, "user_bias"),
        "popular_products": pa.table(
            {
                "context_type": ["all"] * 100,
                "context": ["all"] * 100,
                "product_id": product_ids[:100],
                "rank": np.arange(1, 101, dtype=np.int32),
                "score": np.linspace(100, 1, 100),
                "reason": ["Popular right now"] * 100,
            }
        ),
        "personalisation_opt_outs": pa.table({"user_id": pa.array([], pa.int64())}),
        "erasure_requests": pa.table({"user_id": pa.array([], pa.int64())}),
    }
    # the similar rows of one product must have distinct ranks per method
    tables["similar_products"] = tables["similar_products"].set_column(
        tables["similar_products"].schema.get_field_index("rank"),
        "rank",
        pa.array(np.tile(np.repeat(np.arange(1, 11, dtype=np.int32), 2), products)),
    )
    models = {
        "session": {"name": "sknn", "params": {}, "evaluation": [], "evaluated": False},
        "user": {"name": "lightfm", "params": {}, "evaluation": [], "evaluated": False},
    }
    assert set(tables) == set(SCHEMAS)
    write_bundle(target, tables, models)


def measure_load(bundle: Path) -> dict:
    """Load time and memory of the bundle in a fresh process (what one API worker holds)."""
    code = (
        "import json, sys, time\n"
        "from amazing_analytics.serving.store import load_bundle\n"
        "def status(key):\n"
        "    text = open('/proc/self/status').read()\n"
        "    return round(int(text.split(key + ':')[1].split()[0]) / 1024, 1)\n"
        "before = status('VmRSS')\n"
        "start = time.perf_counter(); bundle = load_bundle(sys.argv[1])\n"
        "cold = time.perf_counter() - start\n"
        "loaded = status('VmRSS')\n"
        "start = time.perf_counter(); again = load_bundle(sys.argv[1])\n"
        "warm = time.perf_counter() - start\n"
        "del again\n"
        "print(json.dumps({'cold_load_seconds': round(cold, 2), 'reload_seconds': round(warm, 2),"
        " 'rss_mb_before_load': before, 'rss_mb_loaded': loaded,"
        " 'bundle_in_memory_mb': round(loaded - before, 1),"
        " 'rss_mb_after_a_reload': status('VmRSS'),"
        " 'peak_rss_mb_during_reload': status('VmHWM')}))\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code, str(bundle)], capture_output=True, text=True, check=True
    )
    return json.loads(output.stdout.strip().splitlines()[-1])


def cache_counts(port: int) -> dict:
    """Cache hits and misses of the worker that answers the scrape (without
    PROMETHEUS_MULTIPROC_DIR each worker counts its own)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    except OSError:
        return {}
    counts: dict[str, float] = {"hit": 0.0, "miss": 0.0}
    for line in text.splitlines():
        if line.startswith("amazing_api_cache_requests_total{"):
            labels, value = line.rsplit(" ", 1)
            counts["hit" if 'result="hit"' in labels else "miss"] += float(value)
    total = counts["hit"] + counts["miss"]
    return {**counts, "hit_share": round(counts["hit"] / total, 3) if total else None}


DOCS_START = "<!-- bench-serve:start (written by scripts/bench_serve.py --docs) -->"
DOCS_END = "<!-- bench-serve:end -->"


def write_docs_table(path: Path, report: dict, args: argparse.Namespace) -> None:
    """Replace the table between the markers of docs/benchmarks.md with this run's figures."""
    target = report["target"]
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = report.get("target", {}).get("load_average_after") or os.getloadavg()
    cache = report.get("cache") or {}

    def ms(step: dict, key: str) -> str:
        value = step.get(key)
        return f"{value:,.1f} ms" if isinstance(value, int | float) else ""

    rows = [
        f"Last `make bench-serve`: {when}, {args.workers} worker(s), bundle "
        f"{report['bundle']['build_id']}, load average {load[0]:.1f} after the main run (the "
        "generator shares the cores).",
        "",
        "| rate | duration | errors | p50 | p90 | p99 | p99.9 | server CPU / request |",
        "|---|---|---|---|---|---|---|---|",
        f"| **{target['target_rate']:,.0f} req/s** (achieved {target['achieved_rate']:,.0f}) "
        f"| {target['seconds']:.0f} s | {target['errors']} | {ms(target, 'p50_ms')} "
        f"| {ms(target, 'p90_ms')} | **{ms(target, 'p99_ms')}** | {ms(target, 'p99.9_ms')} "
        f"| {target.get('server_cpu_us_per_request', '')} µs |",
    ]
    for step in report.get("knee_steps", []):
        rows.append(
            f"| {step['target_rate']:,.0f} req/s (achieved {step['achieved_rate']:,.0f}) "
            f"| {step['seconds']:.0f} s | {step['errors']} | {ms(step, 'p50_ms')} "
            f"| {ms(step, 'p90_ms')} | {ms(step, 'p99_ms')} | {ms(step, 'p99.9_ms')} | |"
        )
    knee = report.get("knee_rate")
    rows += [
        "",
        f"Knee (highest rate with p99 < 10 ms and no error): "
        f"{f'{knee:,.0f} req/s' if knee else 'not reached'}. "
        f"Cache hits (the counts of the worker that answered /metrics): {cache.get('hit_share')} "
        f"of its answers; the client cycles through {args.sessions:,} distinct requests, more "
        "than one worker's cache holds, so a least-recently-used cache mostly misses here. "
        f"Impressions logged: {report.get('impressions_logged'):,} for "
        f"{report.get('answers_200_measured'):,} answers measured plus the warm-up's.",
    ]
    text = path.read_text() if path.exists() else ""
    block = DOCS_START + "\n" + "\n".join(rows) + "\n" + DOCS_END
    if DOCS_START in text and DOCS_END in text:
        head, rest = text.split(DOCS_START, 1)
        text = head + block + rest.split(DOCS_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, default=Path("warehouse/serving"))
    parser.add_argument("--events", default="data/demo/*.csv.gz", help="glob of demo event files")
    parser.add_argument("--port", type=int, default=8150)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--knee-rates",
        default="500,1000,1500,2000,2500,3000",
        help="rates stepped through to find the knee (empty: skip)",
    )
    parser.add_argument("--knee-seconds", type=float, default=15.0)
    parser.add_argument("--sessions", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("target/bench_serve.json"))
    parser.add_argument(
        "--docs",
        type=Path,
        default=None,
        help="write the figures' table into this markdown file (between its bench-serve markers)",
    )
    parser.add_argument(
        "--synthetic-users",
        type=int,
        default=0,
        help="only time the load and memory of a synthetic bundle of this many users",
    )
    parser.add_argument("--synthetic-products", type=int, default=100_000)
    parser.add_argument(
        "--in-process",
        type=int,
        default=0,
        help="only time this many requests through the ASGI app in this process (no server)",
    )
    args = parser.parse_args()

    if args.synthetic_users:
        import tempfile

        with tempfile.TemporaryDirectory(
            dir=args.out.parent if args.out.parent.exists() else None
        ) as tmp:
            target = Path(tmp) / "serving"
            started = time.perf_counter()
            synthetic_bundle(target, args.synthetic_users, args.synthetic_products, args.seed)
            written = time.perf_counter() - started
            size = sum(p.stat().st_size for p in Path(os.path.realpath(target)).iterdir())
            result = {
                "users": args.synthetic_users,
                "products": args.synthetic_products,
                "write_seconds": round(written, 1),
                "bundle_mb": round(size / 2**20, 1),
                **measure_load(target),
            }
        print(json.dumps(result))
        return

    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover
        pass

    started = time.perf_counter()
    requests = load_requests(args.events, args.sessions, args.seed)
    print(
        f"{len(requests):,} requests replayed from {args.events} ({time.perf_counter() - started:.1f} s)"
    )
    if args.in_process:
        result = {
            "without_cache": in_process(args.bundle, requests, args.in_process, cache=False),
            "with_cache": in_process(args.bundle, requests, args.in_process, cache=True),
        }
        print(json.dumps(result, indent=2))
        return
    import tempfile

    feedback = Path(tempfile.mkdtemp(prefix="bench_serve_feedback_"))
    server_started = time.perf_counter()
    server = start_server(args.bundle, args.port, args.workers, feedback)
    report: dict = {}
    try:
        ready = wait_ready(args.port, server)
        report["bundle"] = {
            **measure_load(args.bundle),
            "build_id": ready["build_id"],
            "server_load_seconds": ready["load_seconds"],
            "start_to_ready_seconds": round(time.perf_counter() - server_started, 2),
            "server_rss_mb_ready": round(tree_rss_mb(server.pid), 1),
            "workers": args.workers,
        }
        print(f"server ready: {report['bundle']}")
        asyncio.run(run_rate("127.0.0.1", args.port, requests, 200, 3, args.connections))  # warm-up
        cpu_before = tree_cpu_seconds(server.pid)
        main_run = asyncio.run(
            run_rate("127.0.0.1", args.port, requests, args.rate, args.seconds, args.connections)
        )
        report["target"] = main_run.summary()
        used = tree_cpu_seconds(server.pid) - cpu_before
        report["target"]["server_cpu_us_per_request"] = round(
            used / max(len(main_run.latencies), 1) * 1e6, 1
        )
        report["target"]["load_average_after"] = os.getloadavg()
        report["bundle"]["server_rss_mb_after_run"] = round(tree_rss_mb(server.pid), 1)
        print(f"at {args.rate:g} req/s for {args.seconds:g} s: {json.dumps(report['target'])}")
        knee = []
        for rate in [float(r) for r in args.knee_rates.split(",") if r.strip()]:
            step = asyncio.run(
                run_rate(
                    "127.0.0.1", args.port, requests, rate, args.knee_seconds, args.connections
                )
            ).summary()
            knee.append(step)
            print(
                f"knee step {rate:g} req/s: p99 {step.get('p99_ms')} ms, achieved {step['achieved_rate']}, errors {step['errors']}"
            )
            if step.get("p99_ms", 1e9) > 100 or step["achieved_rate"] < 0.8 * rate:
                break
        report["knee_steps"] = knee
        good = [s["target_rate"] for s in knee if s.get("p99_ms", 1e9) < 10 and s["errors"] == 0]
        report["knee_rate"] = max(good) if good else None
        report["load_average"] = os.getloadavg()
        report["cache"] = cache_counts(args.port)
        print(f"knee (highest rate with p99 < 10 ms and no error): {report['knee_rate']}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    answered = sum(
        count
        for step in [report.get("target", {}), *report.get("knee_steps", [])]
        for status, count in step.get("statuses", {}).items()
        if status == "200"
    )
    logged = sum(
        len(path.read_bytes().splitlines()) for path in feedback.glob("impressions/*.jsonl")
    )
    # every answer of the measured runs (and the warm-up's) is in the impression log
    report["impressions_logged"] = logged
    report["answers_200_measured"] = answered
    import shutil

    shutil.rmtree(feedback, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"written {args.out}")
    if args.docs and "target" in report:
        write_docs_table(args.docs, report, args)
        print(f"table written into {args.docs}")


if __name__ == "__main__":
    main()
