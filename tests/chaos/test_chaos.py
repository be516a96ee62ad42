"""The whole system for a few minutes on one workspace, killed at random, and nothing lost.

What runs, as in production (real processes, real sockets):

- ``segmentry serve`` (the web app: pages, the JSON API, its background jobs, the webhook
  endpoint and the queue's applier) under concurrent page and API load, with "Run now" (the
  scheduled run's job) and tag syncs started through the API;
- ``segmentry serve-webhooks`` receiving beside it (it queues; the web app applies);
- the fake Shopify (in this process, so it survives the kills) with its failure injection
  (503, 429, THROTTLED, dropped connections), its store changing as the test goes: new orders,
  cancellations, customer edits, each announced by a signed webhook sent to either receiver,
  some twice (the same webhook id), some late (an older ``updated_at`` after a newer one),
  some with a bad signature, some malformed;
- a killer that ``SIGKILL``s the web app or the receiver at random moments and restarts it.

At the end (everything restarted cleanly, one last run): the ledger equals what the fake
Shopify holds, every webhook a receiver accepted was applied, no tag was written twice in a
row to a customer, the tag carriers equal the segment's members, and no request got a 5xx.
The figures it prints are recorded in docs/reliability.md.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from segmentry.activation.shopify.activate import sync_segment
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify import tables
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.core.config import ScheduleSettings, save_schedule
from segmentry.core.secrets import save_secret
from segmentry.testing.http import free_port
from segmentry.testing.shopify import FakeShopify, gid
from segmentry.web.accounts import add_user, create_token

pytestmark = pytest.mark.slow

SECONDS = float(os.environ.get("SEGMENTRY_CHAOS_SECONDS", "75"))
EMAIL, PASSWORD = "chaos@example.com", "chaos-password"
TODAY = dt.date.today()


# ---------------------------------------------------------------- processes


class Process:
    """One segmentry command run as a child process, restartable after a kill."""

    def __init__(self, name: str, args: list[str], folder: Path, health: str) -> None:
        self.name, self.args, self.folder, self.health = name, args, folder, health
        self.proc: subprocess.Popen[bytes] | None = None
        self.kills = 0
        self.log = folder.parent / f"{name}.log"

    def start(self) -> None:
        command = [sys.executable, "-c", "from segmentry.cli.main import main; main()"]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "-w", str(self.folder), *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_up()

    def wait_up(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(self.health, timeout=2)  # any answer: it is listening
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name} did not come up: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- what happened


class Tally:
    """Every answer the load got, by status; the accepted webhooks; the bad inputs tried."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []
        self.refused = 0  # connection refused/reset while a process was down
        self.accepted: set[str] = set()
        self.bad_inputs = 0
        self.webhooks_sent = 0
        self.malformed: set[str] = set()
        self.scheduled: set[tuple[str, str]] = set()  # scheduled runs seen in /api/jobs
        self.signed_out = 0  # a page answered with a redirect to the login page

    def answer(self, what: str, response: httpx.Response) -> None:
        with self.lock:
            self.statuses[response.status_code] += 1
            if response.status_code >= 500:
                self.server_errors.append(f"{what}: {response.status_code} {response.text[:300]}")

    def down(self) -> None:
        with self.lock:
            self.refused += 1


def _request(tally: Tally, what: str, call: Callable[[], httpx.Response]) -> httpx.Response | None:
    try:
        response = call()
    except httpx.TransportError:
        tally.down()
        time.sleep(0.2)
        return None
    tally.answer(what, response)
    return response


# ---------------------------------------------------------------- the set-up


def _prepare(folder: Path, fake: FakeShopify) -> str:
    """A connected workspace after its first run, with a tag-synced segment; returns a token."""
    ws = Workspace.create(folder, shop_id="shop")
    try:
        connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
        save_secret(folder, "shopify_webhook_secret", fake.webhook_secret)
        ws.run()
        ws.add_segment("repeat", "number_of_orders >= 2")
        sync_segment(ws, "repeat", "seg-repeat")
        add_user(ws.state, EMAIL, PASSWORD, "shop")
        # the server's schedule fires during the chaos (at the next minute but one, shop time)
        due = dt.datetime.now(ws.timezone) + dt.timedelta(minutes=1)
        save_schedule(folder, ScheduleSettings(enabled=True, time=f"{due:%H:%M}"))
        return create_token(ws.state, EMAIL, "chaos")
    finally:
        ws.close()


# ---------------------------------------------------------------- the load


def _sign_in(tally: Tally, base: str) -> httpx.Client | None:
    """A browser session: the login page (for its form token), then the form."""
    client = httpx.Client(base_url=base, timeout=30, follow_redirects=False)
    form = _request(tally, "GET /login", lambda: client.get("/login"))
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text) if form else None
    login = found and _request(
        tally,
        "POST /login",
        lambda: client.post(
            "/login",
            data={"email": EMAIL, "password": PASSWORD, "csrf_token": found.group(1), "next": "/"},
        ),
    )
    if not login or login.status_code != 303:
        client.close()
        time.sleep(0.3)
        return None
    return client


def _pages(stop: threading.Event, tally: Tally, base: str) -> None:
    """A signed-in browser reading pages, signing in again after each restart."""
    paths = ["/", "/segments", "/segments/repeat", "/runs", "/settings", "/builder"]
    client: httpx.Client | None = None
    while not stop.is_set():
        if client is None:
            client = _sign_in(tally, base)
            continue
        path = random.choice(paths)
        page = _request(tally, f"GET {path}", lambda c=client, p=path: c.get(p))  # type: ignore[misc]
        if page is not None and page.status_code == 303:
            with tally.lock:
                tally.signed_out += 1
    if client is not None:
        client.close()


def _api(stop: threading.Event, tally: Tally, base: str, token: str) -> None:
    """A script using the JSON API: reads, live counts, "Run now" and tag syncs."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        while not stop.is_set():
            roll = random.random()
            if roll < 0.05:
                call = lambda: client.post("/api/runs")  # noqa: E731
            elif roll < 0.08:
                call = lambda: client.post(  # noqa: E731
                    "/api/segments/repeat/tag-sync", json={"tag": "seg-repeat"}
                )
            elif roll < 0.4:
                call = lambda: client.post(  # noqa: E731
                    "/api/preview", json={"query": "number_of_orders >= 2"}
                )
            else:
                path = random.choice(
                    [
                        "/api/segments",
                        "/api/segments/repeat",
                        "/api/runs",
                        "/api/overview",
                        "/api/jobs",
                    ]
                )
                call = lambda p=path: client.get(p)  # type: ignore[misc]  # noqa: E731
            answer = _request(tally, "api", call)
            if answer is not None and answer.url.path == "/api/jobs" and answer.status_code == 200:
                with tally.lock:
                    tally.scheduled |= {
                        (j["created_at"], j["status"])
                        for j in answer.json()["jobs"]
                        if j["trigger"] == "schedule" and j["kind"] == "run"
                    }


class Store:
    """Changes to the fake store, each announced by webhooks the way Shopify sends them."""

    def __init__(self, fake: FakeShopify, urls: list[str], tally: Tally) -> None:
        self.fake, self.urls, self.tally = fake, urls, tally
        self.customers = sorted(fake.data.objects["customers"])

    def _send(
        self,
        topic: str,
        payload: dict[str, Any],
        *,
        webhook_id: str | None = None,
        secret: str | None = None,
        body: bytes | None = None,
    ) -> None:
        raw = body if body is not None else json.dumps(payload).encode()
        key = (secret or self.fake.webhook_secret).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": base64.b64encode(
                hmac.new(key, raw, hashlib.sha256).digest()
            ).decode(),
            "X-Shopify-Shop-Domain": self.fake.shop,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Triggered-At": self.fake.data.now(),
        }
        url = random.choice(self.urls)
        self.tally.webhooks_sent += 1
        response = _request(
            self.tally,
            f"webhook {topic}",
            lambda: httpx.post(url, content=raw, headers=headers, timeout=10),
        )
        good = secret is None and body is None
        if response is not None and response.status_code == 200 and good:
            with self.tally.lock:
                self.tally.accepted.add(headers["X-Shopify-Webhook-Id"])
        elif response is not None and response.status_code == 200 and secret is None:
            with self.tally.lock:  # signed but unusable: it must fail for good, visibly
                self.tally.malformed.add(headers["X-Shopify-Webhook-Id"])
        elif response is None and good:  # the receiver was down: Shopify retries later
            time.sleep(0.2)
            self._send(topic, payload, webhook_id=headers["X-Shopify-Webhook-Id"])

    def new_order(self) -> None:
        data = self.fake.data
        customer = random.choice(self.customers)
        legacy = data.new_id()
        total = Decimal(random.randrange(1000, 20000))
        with data.lock:
            order = data.add_order(
                {
                    "order_id": legacy,
                    "customer_id": customer.rsplit("/", 1)[-1],
                    "processed_at": data.now(),
                    "total": total,
                    "subtotal": total,
                },
                [
                    {
                        "product_id": None,
                        "title": "カオス福袋",
                        "quantity": 1,
                        "unit_price": total,
                        "total": total,
                    }
                ],
            )
        self._send("orders/create", self.fake.rest_order(order["id"]))

    def cancel_with_a_late_update(self) -> None:
        """orders/cancelled, then the older orders/updated arriving after it."""
        data = self.fake.data
        with data.lock:
            live = [o for o in data.objects["orders"].values() if not o["cancelledAt"]]
            order = random.choice(live)
            before = self.fake.rest_order(order["id"])
            order["cancelledAt"] = order["updatedAt"] = data.now()
            data.touch()
            after = self.fake.rest_order(order["id"])
        self._send("orders/cancelled", after)
        self._send("orders/updated", before)

    def edit_customer(self) -> None:
        data = self.fake.data
        with data.lock:
            customer = data.objects["customers"][random.choice(self.customers)]
            customer["lastName"] = random.choice(["山田", "佐藤", "鈴木", "高橋"])
            customer["updatedAt"] = data.now()
            data.touch()
            payload = self.fake.rest_customer(customer["id"])
        webhook_id = str(uuid.uuid4())
        self._send("customers/update", payload, webhook_id=webhook_id)
        if random.random() < 0.5:  # Shopify delivers at least once: the same id again
            self._send("customers/update", payload, webhook_id=webhook_id)

    def hostile(self) -> None:
        self.tally.bad_inputs += 1
        payload = {"id": 1}
        roll = random.random()
        if roll < 0.5:
            self._send("orders/create", payload, secret="not-the-secret")
        else:
            self._send("orders/create", payload, body=b"{not json" * random.randrange(1, 50))


def _webhooks(stop: threading.Event, store: Store) -> None:
    actions = [
        store.new_order,
        store.new_order,
        store.cancel_with_a_late_update,
        store.edit_customer,
        store.hostile,
    ]
    while not stop.is_set():
        random.choice(actions)()
        time.sleep(random.uniform(0.05, 0.3))


def _injector(stop: threading.Event, fake: FakeShopify) -> None:
    while not stop.wait(random.uniform(1, 4)):
        fake.inject(
            random.choice(["503", "500", "429", "throttled", "drop"]), times=random.randrange(1, 3)
        )


def _killer(stop: threading.Event, processes: list[Process]) -> None:
    while not stop.wait(random.uniform(4, 9)):
        victim = random.choice(processes)
        victim.kill()
        time.sleep(random.uniform(0.1, 1.0))
        victim.start()


@contextlib.contextmanager
def _running(*targets: Callable[[threading.Event], None]) -> Iterator[threading.Event]:
    stop = threading.Event()
    threads = [threading.Thread(target=t, args=(stop,), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)


# ---------------------------------------------------------------- the end state


def _wait_for_jobs(base: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        jobs = httpx.get(f"{base}/api/jobs", headers=headers, timeout=30).json()["jobs"]
        if all(j["status"] not in ("queued", "running") for j in jobs):
            return
        time.sleep(0.5)
    raise AssertionError("jobs did not finish")


def _final_run(base: str, token: str) -> dict[str, Any]:
    """One last run through the API, once nothing else is running."""
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(120):
        _wait_for_jobs(base, token)
        response = httpx.post(f"{base}/api/runs", headers=headers, timeout=30)
        if response.status_code == 202:
            job = response.json()
            while job["status"] in ("queued", "running"):
                time.sleep(0.5)
                job = httpx.get(f"{base}/api/jobs/{job['id']}", headers=headers, timeout=30).json()
            return dict(job)
        time.sleep(1)
    raise AssertionError("could not start the final run")


def _pending_webhooks(folder: Path) -> Counter[str]:
    engine = sa.create_engine(f"sqlite:///{folder / 'state.db'}")
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(tables.webhooks.c.status, sa.func.count()).group_by(
                    tables.webhooks.c.status
                )
            ).all()
    finally:
        engine.dispose()
    return Counter({status: int(n) for status, n in rows})


def _ledger(folder: Path) -> tuple[dict[str, tuple[str | None, Decimal]], dict[str, str | None]]:
    with Workspace.open(folder) as ws:
        con = ws.warehouse
        orders = con.to_pyarrow(con.table("orders")).to_pylist()
        customers = con.to_pyarrow(con.table("customers")).to_pylist()
    return (
        {o["order_id"]: (_day(o["cancelled_at"]), Decimal(o["total"])) for o in orders},
        {c["customer_id"]: c["last_name"] for c in customers},
    )


def _day(value: Any) -> str | None:
    return None if value is None else str(value)[:10]


def _fake_state(
    fake: FakeShopify,
) -> tuple[dict[str, tuple[str | None, Decimal]], dict[str, str | None]]:
    data = fake.data
    with data.lock:
        orders = {
            o["legacyResourceId"]: (
                _day(o["cancelledAt"]),
                Decimal(o["totalPriceSet"]["shopMoney"]["amount"]),
            )
            for o in data.objects["orders"].values()
        }
        customers = {
            c["legacyResourceId"]: c["lastName"] for c in data.objects["customers"].values()
        }
    return orders, customers


def _doubled_tag_writes(fake: FakeShopify) -> list[tuple[str, str, str]]:
    """(customer, tag, write) where the same write reached Shopify twice in a row."""
    last: dict[tuple[str, str], str] = {}
    doubled = []
    for name, object_id, tags in fake.mutations:
        for tag in tags:
            if last.get((object_id, tag)) == name:
                doubled.append((object_id, tag, name))
            last[(object_id, tag)] = name
    return doubled


# ---------------------------------------------------------------- the test


def test_the_whole_system_under_load_and_kills_loses_nothing(tmp_path: Path) -> None:
    random.seed(int(os.environ.get("SEGMENTRY_CHAOS_SEED", "20261201")))
    fake = FakeShopify(restore_rate=200, timeout_seconds=0.5)
    fake.seed(generate_store(60, seed=17, end_date=TODAY, shop_id="shop"))
    with fake:
        folder = tmp_path / "ws"
        token = _prepare(folder, fake)
        web_port, hook_port = free_port(), free_port()
        base = f"http://127.0.0.1:{web_port}"
        web = Process("serve", ["serve", "--port", str(web_port)], folder, f"{base}/health")
        hooks = Process(
            "serve-webhooks",
            ["serve-webhooks", "--port", str(hook_port)],
            folder,
            f"http://127.0.0.1:{hook_port}/health",
        )
        web.start()
        hooks.start()
        tally = Tally()
        store = Store(
            fake,
            [f"{base}/webhooks/shopify", f"http://127.0.0.1:{hook_port}/webhooks/shopify"],
            tally,
        )
        started = time.monotonic()
        with _running(
            lambda stop: _pages(stop, tally, base),
            lambda stop: _pages(stop, tally, base),
            lambda stop: _api(stop, tally, base, token),
            lambda stop: _webhooks(stop, store),
            lambda stop: _injector(stop, fake),
            lambda stop: _killer(stop, [web, hooks]),
        ) as stop:
            stop.wait(SECONDS)
        elapsed = time.monotonic() - started
        with fake._lock:
            fake._failures.clear()
        for process in (web, hooks):
            if process.proc is None or process.proc.poll() is not None:
                process.start()
        final = _final_run(base, token)
        response = httpx.post(
            f"{base}/api/segments/repeat/tag-sync",
            json={"tag": "seg-repeat"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        _wait_for_jobs(base, token)
        web.stop()
        hooks.stop()

    figures = {
        "seconds": round(elapsed, 1),
        "requests": sum(tally.statuses.values()),
        "requests_per_second": round(sum(tally.statuses.values()) / elapsed, 1),
        "webhooks_sent": tally.webhooks_sent,
        "webhooks_accepted": len(tally.accepted),
        "webhooks_per_second": round(tally.webhooks_sent / elapsed, 1),
        "kills": {"serve": web.kills, "serve-webhooks": hooks.kills},
        "refused_while_down": tally.refused,
        "bad_inputs": tally.bad_inputs,
        "signed_out": tally.signed_out,
        "scheduled_runs_seen": sorted(tally.scheduled),
        "statuses": dict(sorted(tally.statuses.items())),
        "tag_writes": len(fake.mutations),
    }
    print("chaos figures:", json.dumps(figures))

    assert final["status"] == "succeeded", json.dumps(final, ensure_ascii=False)
    assert tally.server_errors == []
    assert tally.signed_out == 0  # sessions survive restarts
    assert web.kills + hooks.kills >= 3
    queue = _pending_webhooks(folder)
    assert queue.get("pending", 0) == 0, queue
    engine = sa.create_engine(f"sqlite:///{folder / 'state.db'}")
    with engine.connect() as conn:
        applied, failed = (
            set(
                conn.execute(
                    sa.select(tables.webhooks.c.webhook_id).where(
                        tables.webhooks.c.status == status
                    )
                ).scalars()
            )
            for status in ("applied", "failed")
        )
    engine.dispose()
    assert failed == tally.malformed  # only the unusable bodies failed, and they are kept
    assert tally.accepted <= applied  # no accepted webhook lost
    ledger_orders, ledger_customers = _ledger(folder)
    fake_orders, fake_customers = _fake_state(fake)
    assert ledger_orders == fake_orders
    assert ledger_customers == fake_customers
    assert _doubled_tag_writes(fake) == []
    with Workspace.open(folder) as ws:
        members = ws.members("repeat").column("customer_id").to_pylist()
    assert fake.data.tagged("seg-repeat") == {gid("Customer", c) for c in members}
