"""``segmentry bench-web``: server time of the pages that must feel instant, on a big shop.

Builds (or reuses) a generated store with a few starter segments, serves it with uvicorn on a
free loopback port, and requests each page ``repeats`` times. First, the first live count and
the first journeys panel after a server start are timed twice: on a server started without
its warm-up (cold) and on one that has finished it (warm; see
:mod:`segmentry.web.background`). Server time is read from the
``Server-Timing`` header the app sets on every response (time inside the app, without the
network or the client), and reported as p50 / p95 / max in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import socket
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.web import create_app
from segmentry.web.accounts import add_user, create_token

__all__ = ["run_web_benchmark"]

SEGMENTS = ("repeat-customers", "first-time-customers", "f2-candidates", "lapsed",
            "line-connected", "high-aov")
# Typed queries for the live count: each distinct, so nothing is served from a cache.
QUERIES = (
    "number_of_orders >= 2",
    "number_of_orders >= 3 AND amount_spent > 20000",
    "first_order_channel = 'instagram'",
    "customer_tags CONTAINS 'line' AND last_order_date > -90d",
    "products_purchased MATCHES (product_type = 'serum', order_number = 1)",
    "average_order_value >= 8000",
)
_EMAIL, _PASSWORD = "bench@example.com", "bench-password"


def _build(folder: Path, customers: int, end: dt.date, say: Callable[[str], None]) -> None:

    with Workspace.create(folder, shop_id="bench", shop_name="Bench store") as ws:
        started = time.perf_counter()
        ws.import_tables(generate_store(customers, seed=7, end_date=end, shop_id="bench"))
        ws.run(end)
        say(f"store of {customers:,} customers imported in {time.perf_counter() - started:.0f} s")
        for name in SEGMENTS:
            started = time.perf_counter()
            t = TEMPLATES[name]
            ws.add_segment(name, t.query, description=t.description)
            say(f"segment {name}: history in {time.perf_counter() - started:.0f} s")


def _serve(folder: Path, *, warm: bool = True) -> tuple[str, Callable[[], None]]:


    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(folder, warm=warm), host="127.0.0.1",
                                           port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=30)

    return f"http://127.0.0.1:{port}", stop


def _server_ms(response: httpx.Response) -> float:
    timing = response.headers["server-timing"]  # app;dur=12.3
    return float(timing.split("dur=")[1])


def _measure(client: httpx.Client, label: str, repeats: int,
             request: Callable[[int], httpx.Response]) -> dict[str, Any]:
    times = []
    for i in range(repeats):
        response = request(i)
        response.raise_for_status()
        times.append(_server_ms(response))
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"request": label, "n": repeats, "p50_ms": statistics.median(times),
            "p95_ms": p95, "max_ms": ordered[-1]}


def _wait_for_warm_up(client: httpx.Client, timeout: float = 1800) -> float:
    """Wait until the server has warmed up (``GET /api/jobs``); returns its warm-up seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/api/jobs").json()
        if body["warmed_at"] is not None:
            return float(body["warm_seconds"])
        time.sleep(0.2)
    raise TimeoutError("the server did not warm up")


def _first_requests(folder: Path, token: str, *, warm: bool,
                    say: Callable[[str], None]) -> list[dict[str, Any]]:
    """The first live count and the first journeys panel after a fresh server start, without
    the warm-up (cold) or once it has finished (warm)."""
    label = "warm" if warm else "cold"
    url, stop = _serve(folder, warm=warm)
    try:
        with httpx.Client(base_url=url, timeout=600,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            if warm:
                say(f"warm-up after start took {_wait_for_warm_up(client):.1f} s")
            big = SEGMENTS[0]
            return [
                _measure(client, f"first POST /api/preview after start ({label})", 1,
                         lambda i: client.post("/api/preview", json={"query": QUERIES[0]})),
                _measure(client, f"first journeys of {big} after start ({label})", 1,
                         lambda i: client.get(f"/api/segments/{big}/journeys")),
            ]
    finally:
        stop()


def run_web_benchmark(*, customers: int, folder: Path, repeats: int, reuse: bool,
                      say: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Build or reuse the shop in ``folder``, then time the pages; returns one row each."""
    if not (reuse and (folder / "segmentry.toml").exists()):
        if folder.exists() and any(folder.iterdir()):
            raise SystemExit(f"{folder} is not empty; pass --reuse or choose another folder")
        _build(folder, customers, dt.date(2026, 6, 30), say)
    with Workspace.open(folder) as ws:
        add_user(ws.state, _EMAIL, _PASSWORD, ws.settings.shop.id)
        token = create_token(ws.state, _EMAIL, "bench")
    rows = [*_first_requests(folder, token, warm=False, say=say),
            *_first_requests(folder, token, warm=True, say=say)]
    url, stop = _serve(folder)
    try:
        with httpx.Client(base_url=url, timeout=600,
                          headers={"Authorization": f"Bearer {token}"}) as client:
            client.get("/segments")  # first request: opens the warehouse
            _wait_for_warm_up(client)
            big = SEGMENTS[0]
            rows.append(_measure(client, "GET /segments (page)", repeats,
                                 lambda i: client.get("/segments")))
            rows.append(_measure(client, "GET /api/segments", repeats,
                                 lambda i: client.get("/api/segments")))
            rows.append(_measure(client, f"GET /segments/{big} (page)", repeats,
                                 lambda i: client.get(f"/segments/{big}")))
            rows.append(_measure(client, f"GET /api/segments/{big}", repeats,
                                 lambda i: client.get(f"/api/segments/{big}")))
            rows.append(_measure(client, "POST /api/preview (live count)", repeats,
                                 lambda i: client.post("/api/preview",
                                                       json={"query": QUERIES[i % 6]})))
    finally:
        stop()
    for row in rows:
        say(f"{row['request']:<55} n={row['n']:<4} p50 {row['p50_ms']:8.1f} ms   "
            f"p95 {row['p95_ms']:8.1f} ms   max {row['max_ms']:8.1f} ms")
    return rows
