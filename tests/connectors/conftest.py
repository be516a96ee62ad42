"""Fixtures of the connector tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentry.app.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    Workspace.create(folder, shop_id="shop").close()
    return folder
