"""Fixtures of the web tests: small demo shops served by a real uvicorn on free loopback ports.

The main shop (400 synthetic customers, a few starter segments) is built once per session; a
second, tiny shop stands for "another shop". Tests that change things use their own segment
names, so the order tests run in does not matter.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser

from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.testing.http import serving
from segmentry.web import create_app
from segmentry.web.accounts import add_user, create_token

from .browser import chromium

DAY = dt.date(2025, 6, 30)
EMAIL, PASSWORD = "manager@example.com", "correct horse"
SEGMENTS = ("repeat-customers", "first-time-customers", "line-connected")


@dataclass
class Server:
    """A served shop. ``workspace`` is the test's own view of the shop's folder (its own
    DuckDB connection and state-store engine), never the server's: a DuckDB connection is not
    for two threads at once, and the server answers pages on its threads.

    NOTE: finishing an erasure rewrites the warehouse file, and this view would keep the old
    one open: a test of erasures through the server uses the server's workspace (as
    tests/shopify/test_erasure.py does), not a ``Server``."""

    url: str
    workspace: Workspace
    token: str


def _shop(folder: Path, shop_id: str, customers: int, segments: tuple[str, ...]) -> Workspace:
    ws = Workspace.create(folder, shop_id=shop_id, shop_name=f"{shop_id} store")
    ws.import_tables(generate_store(customers, seed=11, end_date=DAY, shop_id=shop_id))
    ws.run(DAY)
    for name in segments:
        template = TEMPLATES[name]
        ws.add_segment(name, template.query, description=template.description)
    add_user(ws.state, EMAIL, PASSWORD, shop_id)
    return ws


@contextmanager
def served(ws: Workspace) -> Iterator[str]:
    """The web app for ``ws`` on a loopback port; yields its URL."""
    with serving(create_app(ws.folder, workspace=ws)) as url:
        yield url


@contextmanager
def serving_shop(ws: Workspace) -> Iterator[Server]:
    """The web app for ``ws`` on a loopback port, with an API token and the test's own view
    of the shop (see :class:`Server`)."""
    with served(ws) as url:
        own = Workspace.open(ws.folder)
        try:
            yield Server(url, own, create_token(own.state, EMAIL, "tests"))
        finally:
            own.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The main shop ("demo"), served."""
    ws = _shop(tmp_path_factory.mktemp("web") / "shop", "demo", 400, SEGMENTS)
    try:
        with serving_shop(ws) as shop:
            yield shop
    finally:
        ws.close()


@pytest.fixture(scope="session")
def other_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Another shop ("other") with a segment the main shop does not have, served."""
    ws = _shop(tmp_path_factory.mktemp("web") / "other", "other", 60, ("loyal",))
    try:
        with serving_shop(ws) as shop:
            yield shop
    finally:
        ws.close()


def remove_segment(server: Server, name: str) -> None:
    """Remove a segment through the API, as a manager would."""
    response = httpx.delete(f"{server.url}/api/segments/{quote(name, safe='')}", timeout=60,
                            headers={"Authorization": f"Bearer {server.token}"})
    assert response.status_code == 204, response.text


def log_in(base_url: str, email: str = EMAIL, password: str = PASSWORD) -> httpx.Client:
    """A client signed in through the login form (cookie session)."""
    client = httpx.Client(base_url=base_url, timeout=60)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token.group(1), "next": "/"})
    if response.status_code != 303:
        client.close()
        raise AssertionError(f"login failed: {response.status_code}")
    return client


def csrf_of(client: httpx.Client) -> str:
    """The session's CSRF token, as the pages carry it."""
    found = re.search(r'data-csrf="([^"]+)"', client.get("/builder").text)
    assert found is not None
    return found.group(1)


@pytest.fixture(scope="session")
def browser_client(server: Server) -> Iterator[httpx.Client]:
    """A signed-in cookie session shared by the read-only page tests."""
    client = log_in(server.url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def api(server: Server) -> Iterator[httpx.Client]:
    """A client authenticated with an API token."""
    client = httpx.Client(base_url=server.url, timeout=60,
                          headers={"Authorization": f"Bearer {server.token}"})
    yield client
    client.close()


@pytest.fixture
def anonymous(server: Server) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=server.url, timeout=60)
    yield client
    client.close()


@pytest.fixture(scope="session")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A shop of its own for schemathesis, which creates, edits and deletes at random."""
    ws = _shop(tmp_path_factory.mktemp("web") / "fuzz", "fuzz", 60, ("repeat-customers",))
    try:
        with serving(create_app(ws.folder, workspace=ws)) as url:
            yield Server(url, ws, create_token(ws.state, EMAIL, "fuzz"))
    finally:
        ws.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium shared by one module's browser tests (tests/web/browser.py)."""
    with chromium() as started:
        yield started


def finished_job(api: httpx.Client, job_id: int, timeout: float = 120) -> dict[str, Any]:
    """Poll ``GET /api/jobs/{id}`` until the background job has succeeded or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = api.get(f"/api/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s")



def saved(api: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    """The segment an add or edit (``POST /api/segments``, ``PUT /api/segments/{key}``) saved:
    the request answered 202 with its job, the job succeeded, and ``GET /api/segments/{key}``
    (the job's subject) gives it."""
    assert response.status_code == 202, response.text
    job = finished_job(api, response.json()["id"])
    assert job["status"] == "succeeded", job
    segment = api.get(f"/api/segments/{job['subject']}")
    assert segment.status_code == 200, segment.text
    return dict(segment.json())


def form_saved(client: httpx.Client, response: httpx.Response) -> str:
    """The address the builder opens once its save succeeded: the form's answer is the page
    (202) with the save's job, which this waits for (as the page's script does)."""
    assert response.status_code == 202, response.text
    job = re.search(r'id="job"[^>]*data-job="(\d+)"', response.text)
    then = re.search(r'id="job"[^>]*data-next="([^"]+)"', response.text)
    assert job is not None and then is not None, response.text
    done = finished_job(client, int(job.group(1)))
    assert done["status"] == "succeeded", done
    return html.unescape(then.group(1))


def customers_with_orders(ws: Workspace, at_least: int, day: dt.date) -> int:
    """Customers with ``at_least`` orders placed and not cancelled by ``day``, counted in plain
    SQL on the ledger (what ``number_of_orders >= at_least`` means on that day)."""
    # NOTE: a cursor is a connection of its own, safe beside the server's requests.
    cursor = ws.warehouse.con.cursor()  # type: ignore[attr-defined]
    try:
        row = cursor.execute(f"""
            SELECT count(*) FROM (
              SELECT customer_id FROM orders
              WHERE customer_id IS NOT NULL AND processed_on <= DATE '{day}'
                AND (cancelled_on IS NULL OR cancelled_on > DATE '{day}')
              GROUP BY customer_id HAVING count(DISTINCT order_id) >= {at_least})
        """).fetchone()
        return int(row[0])
    finally:
        cursor.close()
