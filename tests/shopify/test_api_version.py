"""The Admin API version: a validated setting, warnings from Shopify's support calendar (fixed
dates), the version Shopify really answered with, and versions that never existed."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.connectors.shopify import sync_store
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.sync import connect_workspace, version_warning
from segmentry.connectors.shopify.versions import API_VERSION, support_ends, support_warning
from segmentry.core import config
from segmentry.core.errors import ConfigError, ShopifyError
from segmentry.testing.shopify import FakeShopify

TODAY = dt.date(2026, 12, 5)


def test_the_pinned_version_is_supported_well_past_today() -> None:
    assert API_VERSION == "2026-10" == config.ShopifySettings(shop="s").api_version
    assert support_ends(API_VERSION) == dt.date(2027, 10, 1)
    assert support_warning(API_VERSION, TODAY) is None


@pytest.mark.parametrize(
    ("version", "today", "expected"),
    [
        # released 2026-01-01, supported until 2027-01-01: 27 days left on 2026-12-05
        ("2026-01", TODAY, "leaves support on 2027-01-01 (27 days from now)"),
        ("2026-04", dt.date(2027, 1, 30), None),  # 61 days before 2027-04-01
        ("2026-04", dt.date(2027, 1, 31), "leaves support on 2027-04-01 (60 days from now)"),
        ("2026-04", dt.date(2027, 3, 31), "(1 days from now)"),
        ("2026-04", dt.date(2027, 4, 1), "left support on 2027-04-01"),
        ("2025-10", TODAY, "left support on 2026-10-01"),
        ("2027-01", TODAY, "is not released yet"),
        ("unstable", TODAY, "can change at any time"),
    ],
)
def test_warnings_follow_the_calendar(version: str, today: dt.date, expected: str | None) -> None:
    warning = support_warning(version, today)
    if expected is None:
        assert warning is None
    else:
        assert warning is not None and expected in str(warning)


@pytest.mark.parametrize("bad", ["2026-05", "2026-1", "latest", "26-10"])
def test_a_version_that_is_no_version_is_refused_in_the_settings(
    workspace: Workspace, bad: str
) -> None:
    with pytest.raises(ConfigError) as caught, config.edit(Path(workspace.folder)) as document:
        document["shopify"] = {"shop": "s.myshopify.com", "api_version": bad}
    assert "api_version" in str(caught.value)


def test_the_setting_is_written_and_read_back(connected: Workspace) -> None:
    folder = Path(connected.folder)
    with config.edit(folder) as document:
        document["shopify"]["api_version"] = "2026-01"
    assert config.load(folder).shopify.api_version == "2026-01"  # type: ignore[union-attr]
    connected.settings = config.load(folder)
    warning = version_warning(connected, TODAY)
    assert warning is not None and "2026-01 leaves support on 2027-01-01" in str(warning)


def test_a_retired_version_is_answered_with_another_and_the_sync_says_so(
    workspace: Workspace, fake: FakeShopify, caplog: pytest.LogCaptureFixture
) -> None:
    fake.today = TODAY
    connect_workspace(workspace, fake.shop, fake.token, endpoint=fake.url,
                      api_version="2025-07")
    with caplog.at_level(logging.WARNING, logger="segmentry.shopify"):
        report = sync_store(workspace)
    texts = [str(w) for w in report.warnings]
    # retired on 2026-07-01; Shopify falls forward to the oldest supported version, 2026-01
    assert "Shopify answered API version 2026-01 for 2025-07" in " ".join(texts)
    assert any("2025-07 left support on 2026-07-01" in t for t in texts)
    logged = [r.getMessage() for r in caplog.records if r.name == "segmentry.shopify"]
    assert any("answered API version 2026-01" in m for m in logged)
    assert report.rows["orders"] > 0  # the ungrouped output of 2026-01 was read all the same


def test_the_fake_names_the_version_it_answered_with(fake: FakeShopify) -> None:
    fake.today = TODAY
    headers = {"X-Shopify-Access-Token": fake.token}
    body = {"query": "{ shop { name } }"}
    answers = {v: httpx.post(fake.graphql_url(v), json=body, headers=headers)
               for v in ("2026-10", "2025-04", "2027-01", "2027-04", "2026-05")}
    assert answers["2026-10"].headers["X-Shopify-API-Version"] == "2026-10"
    assert answers["2025-04"].headers["X-Shopify-API-Version"] == "2026-01"
    assert answers["2027-01"].headers["X-Shopify-API-Version"] == "2027-01"  # candidate
    assert (answers["2027-04"].status_code, answers["2026-05"].status_code) == (404, 404)


def test_a_version_shopify_does_not_know_is_a_clear_error(fake: FakeShopify) -> None:
    with (
        ShopifyClient(fake.shop, fake.token, api_version="2031-01", endpoint=fake.url) as client,
        pytest.raises(ShopifyError) as caught,
    ):
        client.execute("{ shop { name } }")
    assert caught.value.code == "api_version"
    assert "no API version 2031-01" in str(caught.value)


def test_the_run_records_the_warning_in_its_ingest_stage(
    workspace: Workspace, fake: FakeShopify
) -> None:
    connect_workspace(workspace, fake.shop, fake.token, endpoint=fake.url,
                      api_version="2025-07")  # out of support whatever today is now
    report = workspace.run()
    (ingest,) = [s for s in report.stages if s.stage == "ingest"]
    assert "Shopify API version 2025-07 left support on 2026-07-01" in ingest.detail


def test_the_command_shows_sets_and_refuses_versions(connected: Workspace) -> None:
    folder = str(connected.folder)
    connected.close()
    runner = CliRunner()
    shown = runner.invoke(app, ["shopify", "api-version", "-w", folder])
    assert shown.exit_code == 0
    assert "Shopify API version 2026-10, supported until 2027-10-01" in shown.output
    old = runner.invoke(app, ["shopify", "api-version", "2025-07", "-w", folder])
    assert old.exit_code == 0
    assert "2025-07 left support on 2026-07-01" in " ".join(old.output.split())
    assert 'api_version = "2025-07"' in (Path(folder) / "segmentry.toml").read_text()
    bad = runner.invoke(app, ["shopify", "api-version", "2026-05", "-w", folder])
    assert bad.exit_code == 1
    assert "2026-05 is not a Shopify API version" in " ".join(bad.output.split())
