"""Static assets: plotly.js compressed, cached for a year under a versioned URL, and loaded
only by pages with charts; the API docs work without a CDN."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import httpx
import plotly
import pytest
from playwright.sync_api import Browser, Route

from segmentry.web.routes.public import PLOTLY_URL, SWAGGER_URL

from .browser import expect, needs_chromium, tab
from .conftest import Server

PLOTLY_FILE = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
IMMUTABLE = "public, max-age=31536000, immutable"


def _as_sent(url: str) -> tuple[httpx.Response, bytes]:
    """The response and its body as sent (httpx would otherwise decode gzip)."""
    with httpx.stream("GET", url, headers={"Accept-Encoding": "gzip, br"}) as response:
        return response, b"".join(response.iter_raw())


def test_plotly_is_sent_gzipped_and_cached_for_a_year(server: Server) -> None:
    assert re.fullmatch(r"/static/plotly-\d+\.\d+\.\d+\.min\.js", PLOTLY_URL)
    original = PLOTLY_FILE.read_bytes()
    packed, body = _as_sent(server.url + PLOTLY_URL)
    assert packed.status_code == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert packed.headers["cache-control"] == IMMUTABLE
    assert "accept-encoding" in packed.headers["vary"].lower()
    assert len(body) < len(original) / 2
    assert gzip.decompress(body) == original
    plain = httpx.get(server.url + PLOTLY_URL, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == original


def test_an_old_plotly_version_is_not_found(server: Server) -> None:
    assert httpx.get(f"{server.url}/static/plotly-0.0.1.min.js").status_code == 404


def test_plotly_only_on_pages_with_charts(server: Server, browser_client: httpx.Client) -> None:
    script = f'<script src="{PLOTLY_URL}"'
    assert script in browser_client.get("/").text
    assert script in browser_client.get("/segments/repeat-customers").text
    for path in ("/segments", "/builder", "/runs", "/settings"):
        assert script not in browser_client.get(path).text, path
    assert "plotly" not in httpx.get(f"{server.url}/login").text


def test_pages_and_json_are_compressed(browser_client: httpx.Client) -> None:
    response = browser_client.get("/segments", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"


def test_api_docs_use_local_files_only(server: Server) -> None:
    page = httpx.get(f"{server.url}/api/docs",
                     headers={"Authorization": f"Bearer {server.token}"})
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources), sources
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        asset = httpx.get(f"{server.url}{SWAGGER_URL}{name}")
        assert asset.status_code == 200 and len(asset.content) > 100_000
        assert asset.headers["cache-control"] == IMMUTABLE
    assert f"{SWAGGER_URL}swagger-ui-bundle.js" in sources


@pytest.mark.slow
@needs_chromium
def test_api_docs_render_with_no_other_host(browser: Browser, server: Server) -> None:
    """Swagger UI draws the API in a browser that may reach only the app itself."""
    elsewhere: list[str] = []

    def only_the_app(route: Route) -> None:
        if route.request.url.startswith(server.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page = tab(browser, server.url,
               extra_http_headers={"Authorization": f"Bearer {server.token}"})
    try:
        page.route("**/*", only_the_app)
        page.goto("/api/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("segmentry")
        expect(page.locator(".opblock-tag-section").first).to_be_visible()
    finally:
        page.context.close()
    assert elsewhere == []
