"""Expiring offline tokens of the OAuth install: asked for with ``expiring=1``, kept with their
refresh token, renewed before expiry and on a 401, and a clear error once the refresh token
is gone — against the fake over real HTTP."""

from __future__ import annotations

import json
import stat
import tomllib
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.auth import OfflineTokens, RefreshedToken, exchange_code
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.install import begin_install, finish_install
from segmentry.connectors.shopify.sync import connect_client
from segmentry.core.errors import ShopifyError
from segmentry.testing.shopify import FakeShopify

SHOP_QUERY = "{ shop { name } }"


def _secrets(ws: Workspace) -> dict[str, Any]:
    path = Path(ws.folder) / "secrets"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return tomllib.loads(path.read_text())


def _code(fake: FakeShopify) -> str:
    status, location = fake.authorize({"client_id": fake.client_id,
                                       "redirect_uri": "https://seg.example/cb"})
    assert status == 302
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)["code"][0]


@pytest.fixture
def clocked() -> Iterator[tuple[FakeShopify, list[float]]]:
    """A fake whose clock the test moves (the provider is given the same clock)."""
    now = [1_000_000.0]
    with FakeShopify(clock=lambda: now[0]) as fake:
        yield fake, now


def _provider(fake: FakeShopify, now: list[float], saved: list[OfflineTokens]
              ) -> RefreshedToken:
    _, _, tokens = exchange_code(fake.shop, fake.client_id, fake.client_secret, _code(fake),
                                 endpoint=fake.url, now=lambda: now[0])
    assert tokens is not None
    return RefreshedToken(fake.shop, fake.client_id, fake.client_secret, tokens, saved.append,
                          endpoint=fake.url, clock=lambda: now[0])


def test_the_install_asks_for_an_expiring_token_and_stores_the_pair(
    workspace: Workspace, fake: FakeShopify
) -> None:
    url = begin_install(workspace, fake.shop, fake.client_id, "https://seg.example/cb",
                        client_secret=fake.client_secret, endpoint=fake.url)
    location = httpx.get(url, follow_redirects=False).headers["location"]
    params = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
              .items()}
    finish_install(workspace, params)
    assert [r.get("expiring") for r in fake.token_requests] == ["1"]
    stored = json.loads(_secrets(workspace)["shopify_oauth_tokens"])
    assert stored["refresh_token"] in fake.refresh_tokens
    assert stored["access_token"] in fake.expires  # it expires
    assert stored["refresh_expires_at"] - stored["expires_at"] == pytest.approx(
        fake.refresh_lifetime - fake.oauth_lifetime, abs=5)
    with connect_client(workspace) as client:
        assert client.execute(SHOP_QUERY)["shop"]["name"] == "Fake Shop"
    assert len(fake.token_requests) == 1  # a live token: no refresh yet


def test_the_token_is_renewed_before_it_expires_and_the_new_pair_saved(
    clocked: tuple[FakeShopify, list[float]]
) -> None:
    fake, now = clocked
    saved: list[OfflineTokens] = []
    provider = _provider(fake, now, saved)
    first, first_refresh = provider.token(), provider.tokens.refresh_token
    now[0] += fake.oauth_lifetime - 301  # 5 min + 1 s left: kept
    assert provider.token() == first and saved == []
    now[0] += 2  # under five minutes left: renewed with the refresh token
    second = provider.token()
    assert second != first and [s.access_token for s in saved] == [second]
    assert fake.token_requests[-1]["grant_type"] == "refresh_token"
    assert fake.token_requests[-1]["refresh_token"] == first_refresh
    assert first_refresh not in fake.refresh_tokens  # Shopify replaced it
    assert saved[0].refresh_token in fake.refresh_tokens
    with ShopifyClient(fake.shop, provider, endpoint=fake.url) as client:
        assert client.execute(SHOP_QUERY)["shop"]["name"] == "Fake Shop"


def test_a_401_renews_the_token_once(clocked: tuple[FakeShopify, list[float]]) -> None:
    fake, now = clocked
    saved: list[OfflineTokens] = []
    provider = _provider(fake, now, saved)
    with ShopifyClient(fake.shop, provider, endpoint=fake.url) as client:
        assert client.execute(SHOP_QUERY)["shop"]["name"] == "Fake Shop"
        fake.expire_tokens()  # ended early (revoked, or clocks apart): Shopify answers 401
        assert client.execute(SHOP_QUERY)["shop"]["name"] == "Fake Shop"
    assert len(saved) == 1 and provider.fetched == 1


def test_an_expired_refresh_token_says_to_install_again(
    clocked: tuple[FakeShopify, list[float]]
) -> None:
    fake, now = clocked
    provider = _provider(fake, now, [])
    now[0] += fake.refresh_lifetime + 1
    with pytest.raises(ShopifyError) as caught:
        provider.token()
    assert caught.value.code == "invalid_token"
    assert "install the app again" in caught.value.message
    assert fake.token_requests[-1].get("grant_type") is None  # known expired: not even asked


def test_a_revoked_refresh_token_says_to_install_again(
    clocked: tuple[FakeShopify, list[float]]
) -> None:
    fake, now = clocked
    provider = _provider(fake, now, [])
    fake.refresh_tokens.clear()  # e.g. the app's client secret was rotated
    fake.expire_tokens()
    with ShopifyClient(fake.shop, provider, endpoint=fake.url) as client, \
            pytest.raises(ShopifyError) as caught:
        client.execute(SHOP_QUERY)
    assert caught.value.code == "invalid_token"
    assert "install the app again" in caught.value.message


def test_a_later_process_renews_the_stored_pair(workspace: Workspace, fake: FakeShopify) -> None:
    url = begin_install(workspace, fake.shop, fake.client_id, "https://seg.example/cb",
                        client_secret=fake.client_secret, endpoint=fake.url)
    location = httpx.get(url, follow_redirects=False).headers["location"]
    finish_install(workspace, {k: v[0] for k, v in urllib.parse.parse_qs(
        urllib.parse.urlsplit(location).query).items()})
    before = json.loads(_secrets(workspace)["shopify_oauth_tokens"])
    fake.expire_tokens()  # the access token ran out between two runs
    with connect_client(workspace) as client:
        assert client.execute(SHOP_QUERY)["shop"]["name"] == "Fake Shop"
    after = json.loads(_secrets(workspace)["shopify_oauth_tokens"])
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert after["refresh_token"] in fake.refresh_tokens
    assert before["refresh_token"] not in fake.refresh_tokens
