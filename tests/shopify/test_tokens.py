"""Tokens that expire: the client credentials grant and the OAuth install, against the fake
over real HTTP."""

from __future__ import annotations

import json
import socket
import stat
import threading
import time
import tomllib
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.connectors.shopify.auth import ClientCredentials, authorize_url
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.install import CallbackReceiver, begin_install, finish_install
from segmentry.connectors.shopify.scopes import REQUIRED_SCOPES
from segmentry.connectors.shopify.sync import (
    connect_client,
    connect_client_credentials,
    sync_store,
)
from segmentry.core.errors import ShopifyError
from segmentry.testing.shopify import ALL_SCOPES, FakeShopify
from segmentry.testing.shopify.server import oauth_hmac

SHOP_QUERY = "{ shop { name } }"


def _secrets(ws: Workspace) -> dict[str, Any]:
    path = Path(ws.folder) / "secrets"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return tomllib.loads(path.read_text())


def _grants(fake: FakeShopify) -> list[str | None]:
    return [r.get("grant_type") for r in fake.token_requests]


def test_client_credentials_connect_stores_the_secret_not_the_token(
    workspace: Workspace, fake: FakeShopify
) -> None:
    scopes = connect_client_credentials(workspace, fake.shop, fake.client_id,
                                        fake.client_secret, endpoint=fake.url)
    assert scopes == sorted(ALL_SCOPES)
    assert _grants(fake) == ["client_credentials"]
    assert _secrets(workspace) == {"shopify_client_secret": fake.client_secret}
    toml = (Path(workspace.folder) / "segmentry.toml").read_text()
    assert fake.client_secret not in toml
    shopify = tomllib.loads(toml)["shopify"]
    assert (shopify["auth"], shopify["client_id"]) == ("client_credentials", fake.client_id)
    with connect_client(workspace) as client:  # a new process: a new token, by the grant
        assert client.execute(SHOP_QUERY) == {"shop": {"name": "Fake Shop"}}
    assert _grants(fake) == ["client_credentials"] * 2


def test_a_token_is_renewed_before_it_expires(fake: FakeShopify) -> None:
    now = [1000.0]
    fake.token_lifetime = 100
    provider = ClientCredentials(fake.shop, fake.client_id, fake.client_secret,
                                 endpoint=fake.url, clock=lambda: now[0])
    first = provider.token()
    now[0] += 89  # 11 s left: more than the 10 s (a tenth of the lifetime) kept in hand
    assert provider.token() == first and len(fake.token_requests) == 1
    now[0] += 2
    second = provider.token()
    assert second != first and len(fake.token_requests) == 2
    with ShopifyClient(fake.shop, provider, endpoint=fake.url) as client:
        assert client.execute(SHOP_QUERY)["shop"]["name"] == "Fake Shop"
    assert provider.fetched == 2


def test_expiry_in_real_time_then_a_401(store_tables: dict) -> None:
    with FakeShopify(token_lifetime=1) as fake:
        provider = ClientCredentials(fake.shop, fake.client_id, fake.client_secret,
                                     endpoint=fake.url, refresh_ahead=0)
        with ShopifyClient(fake.shop, provider, endpoint=fake.url) as client:
            client.execute(SHOP_QUERY)
            time.sleep(1.1)  # expired: renewed before the request, so no 401
            client.execute(SHOP_QUERY)
            assert (client.stats.requests, fake.requests, provider.fetched) == (2, 2, 2)
            fake.expire_tokens()  # revoked early (or clocks disagree): a 401, then a new one
            assert client.execute(SHOP_QUERY)["shop"]["name"] == "Fake Shop"
            assert (client.stats.requests, fake.requests, provider.fetched) == (4, 4, 3)


def test_a_sync_survives_its_token_expiring_half_way(
    workspace: Workspace, fake: FakeShopify, store_tables: dict
) -> None:
    connect_client_credentials(workspace, fake.shop, fake.client_id, fake.client_secret,
                               endpoint=fake.url)
    fake.inject("expire_tokens", after=4)
    report = sync_store(workspace)
    assert _grants(fake) == ["client_credentials"] * 3  # connect, this sync, after the 401
    expected = {name: store_tables[name].num_rows for name in ("customers", "products")}
    assert {name: report.rows[name] for name in expected} == expected
    assert report.rows["orders"] >= len(fake.data.objects["orders"]) > 0  # with their lines


def test_a_bad_client_secret_says_so(workspace: Workspace, fake: FakeShopify) -> None:
    with pytest.raises(ShopifyError) as caught:
        connect_client_credentials(workspace, fake.shop, fake.client_id, "wrong",
                                   endpoint=fake.url, max_retries=0)
    assert caught.value.code == "token_refused"
    assert "HTTP 400" in caught.value.message and "wrong client secret" in caught.value.message
    assert workspace.settings.shopify is None
    assert not (Path(workspace.folder) / "secrets").exists()


def test_a_new_token_refused_too_is_final(fake: FakeShopify) -> None:
    fake.token_lifetime = 0  # every token is dead on arrival
    provider = ClientCredentials(fake.shop, fake.client_id, fake.client_secret,
                                 endpoint=fake.url)
    with ShopifyClient(fake.shop, provider, endpoint=fake.url) as client, \
            pytest.raises(ShopifyError) as caught:
        client.execute(SHOP_QUERY)
    assert caught.value.code == "invalid_token"
    assert provider.fetched == 2 and fake.requests == 2


# ------------------------------------------------------------------ OAuth install


def _callback(fake: FakeShopify, url: str) -> dict[str, str]:
    """Approve the app on the fake's authorize page; the parameters it redirects with."""
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302
    query = urllib.parse.urlsplit(response.headers["location"]).query
    return {k: v[0] for k, v in urllib.parse.parse_qs(query).items()}


def test_oauth_install_end_to_end(workspace: Workspace, fake: FakeShopify) -> None:
    receiver = CallbackReceiver(lambda query: finish_install(workspace, query))
    url = begin_install(workspace, fake.shop, fake.client_id, receiver.redirect_uri,
                        client_secret=fake.client_secret, endpoint=fake.url)
    asked = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert asked["scope"] == [",".join(REQUIRED_SCOPES)]
    assert asked["redirect_uri"] == [receiver.redirect_uri] and len(asked["state"][0]) >= 32
    page = httpx.get(url, follow_redirects=True)  # the browser: Shopify, then our receiver
    assert page.status_code == 200 and "connected" in page.text
    assert receiver.wait(5) == sorted(ALL_SCOPES)
    assert _grants(fake) == [None]  # one code exchange
    settings = workspace.settings.shopify
    assert settings is not None and (settings.auth, settings.client_id) == ("oauth",
                                                                            fake.client_id)
    token = _secrets(workspace)["shopify_token"]
    assert token.startswith("shpat_oauth_") and token in fake.tokens
    with connect_client(workspace) as client:
        assert client.execute(SHOP_QUERY)["shop"]["name"] == "Fake Shop"


def test_oauth_callback_with_a_bad_hmac_or_state_is_refused(
    workspace: Workspace, fake: FakeShopify
) -> None:
    url = begin_install(workspace, fake.shop, fake.client_id, "https://seg.example/cb",
                        client_secret=fake.client_secret, endpoint=fake.url)
    params = _callback(fake, url)
    assert params["hmac"] == oauth_hmac(params, fake.client_secret)
    tampered = {**params, "code": "0" * 32}
    other_state = {**params, "state": "forged"}
    other_state["hmac"] = oauth_hmac(other_state, fake.client_secret)  # signed, wrong state
    other_shop = {**params, "shop": "evil.myshopify.com"}
    other_shop["hmac"] = oauth_hmac(other_shop, fake.client_secret)
    for query, why in ((tampered, "hmac"), (other_state, "state"), (other_shop, "another shop"),
                       ({**params, "hmac": oauth_hmac(params, "not-the-secret")}, "hmac")):
        with pytest.raises(ShopifyError) as caught:
            finish_install(workspace, query)
        assert caught.value.code == "oauth_refused" and why in caught.value.message
    assert fake.token_requests == [] and workspace.settings.shopify is None
    assert finish_install(workspace, params) == sorted(ALL_SCOPES)  # the real one still works
    with pytest.raises(ShopifyError) as caught:  # and only once
        finish_install(workspace, params)
    assert caught.value.code == "oauth_refused"


# ------------------------------------------------------------------ the command


def test_connect_command_with_client_credentials(
    workspace: Workspace, fake: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = str(workspace.folder)
    workspace.close()
    monkeypatch.setenv("MY_APP_SECRET", fake.client_secret)
    result = CliRunner().invoke(app, [
        "connect", "shopify", "--shop", fake.shop, "--client-id", fake.client_id,
        "--client-secret-env", "MY_APP_SECRET", "--endpoint", fake.url, "-w", folder])
    assert result.exit_code == 0, result.output
    stored = tomllib.loads((Path(folder) / "secrets").read_text())
    assert stored == {"shopify_client_secret": fake.client_secret,
                      "shopify_webhook_secret": fake.client_secret}
    assert 'client_secret_env = "MY_APP_SECRET"' in (Path(folder) / "segmentry.toml").read_text()


def test_connect_command_install(workspace: Workspace, fake: FakeShopify,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    folder = Path(workspace.folder)
    workspace.close()
    monkeypatch.setenv("SEGMENTRY_SHOPIFY_CLIENT_SECRET", fake.client_secret)
    with socket.socket() as s:  # a free port for the one-shot receiver
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["result"] = CliRunner().invoke(app, [
            "connect", "shopify", "--shop", fake.shop, "--client-id", fake.client_id,
            "--install", "--port", str(port), "--endpoint", fake.url, "-w", str(folder)])

    thread = threading.Thread(target=run)
    thread.start()
    pending = None
    for _ in range(100):  # the command has begun once the pending install is stored
        secrets = folder / "secrets"
        if secrets.exists() and "shopify_oauth_pending" in secrets.read_text():
            pending = tomllib.loads(secrets.read_text())["shopify_oauth_pending"]
            break
        time.sleep(0.05)
    assert pending is not None
    state = json.loads(pending)
    url = authorize_url(fake.shop, fake.client_id, REQUIRED_SCOPES, state["redirect_uri"],
                        state["state"], endpoint=fake.url)
    assert httpx.get(url, follow_redirects=True).status_code == 200
    thread.join(10)
    result = outcome["result"]
    assert result.exit_code == 0, result.output
    assert "Connected to" in result.output and state["state"] in result.output
