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
    loop = asyncio.get_running_loop()

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
                latency = loop.time() - due
                results.latencies.append(latency)
                results.by_kind.setdefault(kind, []).append(latency)
                results.statuses[status] = results.statuses.get(status, 0) + 1
                if status >= 500:
                    results.errors += 1
        finally:
            writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    start = loop.time() + 0.05
    for i in range(total):
        due = start + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        kind, raw = requests[i % len(requests)]
        queue.put_nowait((due, kind, raw))
        results.sent += 1
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    results.seconds = max(loop.time() - start, 1e-9)
    return results


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_server(bundle: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "AMAZING_RELOAD_INTERVAL": "5"}
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
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", type=Path, default=Path("target/bench_serve.json"))
    args = parser.parse_args()

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
    server_started = time.perf_counter()
    server = start_server(args.bundle, args.port)
    report: dict = {}
    try:
        ready = wait_ready(args.port, server)
        report["bundle"] = {
            "build_id": ready["build_id"],
            "load_seconds": ready["load_seconds"],
            "start_to_ready_seconds": round(time.perf_counter() - server_started, 2),
            "rss_mb_ready": round(rss_mb(server.pid), 1),
        }
        print(f"server ready: {report['bundle']}")
        asyncio.run(run_rate("127.0.0.1", args.port, requests, 200, 3, args.connections))  # warm-up
        main_run = asyncio.run(
            run_rate("127.0.0.1", args.port, requests, args.rate, args.seconds, args.connections)
        )
        report["target"] = main_run.summary()
        report["bundle"]["rss_mb_after_load"] = round(rss_mb(server.pid), 1)
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
        print(f"knee (highest rate with p99 < 10 ms and no error): {report['knee_rate']}")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
