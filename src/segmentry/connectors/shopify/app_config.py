"""The app's configuration file for the Shopify CLI (``shopify.app.toml``), filled in for this
segmentry: its address, the app's client ID, the API version, the scopes it needs and every
webhook topic it handles — the compliance topics included, which Shopify lets an app subscribe
only in this file (or the Dev Dashboard)."""

from __future__ import annotations

from importlib import resources
from urllib.parse import urlsplit

from segmentry.connectors.shopify.client import API_VERSION
from segmentry.core.errors import ShopifyError

__all__ = ["app_config"]

_PLACEHOLDER_URL = "https://FILL-IN.example.com"
_PLACEHOLDER_ID = "FILL IN: the app's client ID (Dev Dashboard -> your app -> Settings)"


def app_config(url: str | None = None, client_id: str | None = None,
               api_version: str = API_VERSION) -> str:
    """The template, with segmentry's public address ``url`` (https), the app's ``client_id``
    and ``api_version`` filled in where given (the rest stays marked FILL IN).

    >>> text = app_config("https://crm.example.jp", "abc123")
    >>> 'uri = "https://crm.example.jp/webhooks/shopify"' in text, 'client_id = "abc123"' in text
    (True, True)
    """
    text = resources.files("segmentry.connectors.shopify").joinpath(
        "templates/shopify.app.toml").read_text(encoding="utf-8")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.netloc or parts.query or parts.fragment:
            raise ShopifyError(
                "{url} is not an https address segmentry is reached at (Shopify sends webhooks "
                "and the OAuth callback only to https).", code="bad_app_url", params={"url": url})
        text = text.replace(_PLACEHOLDER_URL, f"https://{parts.netloc}{parts.path.rstrip('/')}")
    if client_id is not None:
        text = text.replace(_PLACEHOLDER_ID, client_id)
    return text.replace('api_version = "2026-10"', f'api_version = "{api_version}"')
