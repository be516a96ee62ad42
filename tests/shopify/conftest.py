"""A fake Shopify seeded with a small demo store, and a workspace connected to it."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.testing.shopify import FakeShopify

TODAY = dt.date.today()


@pytest.fixture(scope="session")
def store_tables() -> dict[str, Any]:
    return generate_store(120, seed=3, end_date=TODAY, shop_id="shop")


@pytest.fixture
def fake(store_tables: dict[str, Any]) -> Iterator[FakeShopify]:
    with FakeShopify(timeout_seconds=0.5) as shop:
        shop.seed(store_tables)
        yield shop


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path / "ws", shop_id="shop")
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def connected(workspace: Workspace, fake: FakeShopify) -> Workspace:
    """A workspace connected to the fake (token kept in its secrets file)."""
    connect_workspace(workspace, fake.shop, fake.token, endpoint=fake.url)
    return workspace


@pytest.fixture(scope="session")
def synced_template(store_tables: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace after its first sync and run, with segment 'repeat' (built once)."""
    folder = tmp_path_factory.mktemp("template") / "ws"
    with FakeShopify() as shop:
        shop.seed(store_tables)
        ws = Workspace.create(folder, shop_id="shop")
        connect_workspace(ws, shop.shop, shop.token, endpoint=shop.url)
        ws.run()
        ws.add_segment("repeat", "number_of_orders >= 2")
        ws.close()
    return folder


@pytest.fixture
def synced(synced_template: Path, fake: FakeShopify, tmp_path: Path) -> Iterator[Workspace]:
    """A copy of the template, pointed at this test's fake (seeded with the same store)."""
    folder = tmp_path / "synced"
    shutil.copytree(synced_template, folder)
    config = folder / "segmentry.toml"
    text = re.sub(r'endpoint = "[^"]*"', f'endpoint = "{fake.url}"', config.read_text())
    config.write_text(text)
    ws = Workspace.open(folder)
    try:
        yield ws
    finally:
        ws.close()
