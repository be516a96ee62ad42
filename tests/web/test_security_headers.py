"""Security headers on every answer, the API's description behind sign-in, and request bodies
capped before they are read (issue 9, item 10); the pages work under the Content-Security-Policy
(no violation in a real browser's console)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage

from segmentry.web.guards import ANONYMOUS_BODY

from .browser import needs_chromium, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server

_PAGES = ["/", "/segments", "/segments/repeat-customers", "/builder", "/runs", "/settings"]


@pytest.mark.parametrize(
    "path", ["/login", "/health", "/segments", "/api/segments", "/static/app.js", "/no-such-page"]
)
def test_every_answer_carries_the_security_headers(server: Server, path: str) -> None:
    response = httpx.get(f"{server.url}{path}", timeout=30)
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("path", ["/openapi.json", "/api/docs"])
def test_the_api_description_needs_sign_in(server: Server, path: str) -> None:
    anonymous = httpx.get(f"{server.url}{path}", timeout=30)
    assert anonymous.status_code in (401, 303)
    if path == "/api/docs":  # a browser is sent to the login form
        assert anonymous.headers["location"].startswith("/login?next=")
    token = {"Authorization": f"Bearer {server.token}"}
    assert httpx.get(f"{server.url}{path}", headers=token, timeout=30).status_code == 200


def test_a_large_anonymous_body_is_refused_before_it_is_read(server: Server) -> None:
    big = b"email=a%40b.c&password=" + b"x" * (ANONYMOUS_BODY + 1)
    declared = httpx.post(
        f"{server.url}/login",
        content=big,
        timeout=30,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it streams
        yield b"email=a%40b.c&password="
        for _ in range(64):
            yield b"x" * 1024

    streamed = httpx.post(
        f"{server.url}/login",
        content=chunks(),
        timeout=30,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert streamed.status_code == 413


def test_signed_in_calls_keep_a_larger_cap(server: Server) -> None:
    query = "number_of_orders > 1" + " " * (ANONYMOUS_BODY * 2)
    response = httpx.post(
        f"{server.url}/api/preview",
        json={"query": query},
        timeout=60,
        headers={"Authorization": f"Bearer {server.token}"},
    )
    assert response.status_code != 413


@pytest.mark.slow
@needs_chromium
def test_pages_run_without_csp_violations(browser: Browser, server: Server) -> None:
    page = tab(browser, server.url)
    problems: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if re.search(r"Content Security Policy|Refused to", message.text):
            problems.append(message.text)

    page.on("console", watch)
    try:
        sign_in(page, EMAIL, PASSWORD)
        for path in [*_PAGES, "/api/docs"]:
            page.goto(path)
            page.wait_for_load_state("networkidle")
        page.goto("/segments/repeat-customers")
        page.wait_for_selector("[data-figure] .main-svg")  # plotly drew a chart
        page.goto("/api/docs")
        page.wait_for_selector(".swagger-ui .info .title")  # Swagger UI's inline script ran
    finally:
        page.context.close()
    assert problems == []
