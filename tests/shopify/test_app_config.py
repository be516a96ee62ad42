"""The shopify.app.toml segmentry prints subscribes every topic it handles, the compliance topics
in Shopify's own key, and asks for the scopes the connection checks for, then the optional ones."""

from __future__ import annotations

import tomllib

import pytest
from typer.testing import CliRunner

from segmentry.cli.main import app
from segmentry.connectors.shopify.app_config import app_config
from segmentry.connectors.shopify.client import API_VERSION
from segmentry.connectors.shopify.scopes import OPTIONAL_SCOPES, REQUIRED_SCOPES
from segmentry.connectors.shopify.webhooks import TOPICS
from segmentry.core.errors import ShopifyError

COMPLIANCE = {"customers/data_request", "customers/redact", "shop/redact"}


def test_the_printed_file_names_our_topics_scopes_and_address() -> None:
    result = CliRunner().invoke(app, ["shopify", "app-config", "--url", "https://crm.example.jp/",
                                      "--client-id", "abc123"])
    assert result.exit_code == 0, result.output
    config = tomllib.loads(result.output)
    assert config["client_id"] == "abc123"
    assert config["access_scopes"]["scopes"].split(",") == [*REQUIRED_SCOPES, *OPTIONAL_SCOPES]
    assert config["auth"]["redirect_urls"] == ["https://crm.example.jp/shopify/oauth/callback"]
    assert config["webhooks"]["api_version"] == API_VERSION
    plain, compliance = config["webhooks"]["subscriptions"]
    assert set(plain["topics"]) | set(compliance["compliance_topics"]) == set(TOPICS)
    assert set(compliance["compliance_topics"]) == COMPLIANCE
    assert {plain["uri"], compliance["uri"]} == {"https://crm.example.jp/webhooks/shopify"}


def test_without_values_it_is_still_toml_and_says_what_to_fill_in() -> None:
    text = app_config()
    assert text.count("FILL") >= 4
    assert tomllib.loads(text)["name"] == "segmentry"


@pytest.mark.parametrize("url", ["http://crm.example.jp", "crm.example.jp", "https://x.jp/?a=1"])
def test_an_address_shopify_would_not_call_is_refused(url: str) -> None:
    with pytest.raises(ShopifyError) as refused:
        app_config(url)
    assert refused.value.code == "bad_app_url"
