"""A segment named in Japanese, from the CLI to Shopify: the display name is what every list and
page shows, the key is what the binding, the tag and the URLs use; the CLI takes either."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from segmentry.app.workspace import Workspace
from segmentry.cli import output as cli_output
from segmentry.cli.main import app
from segmentry.connectors.shopify import tables
from segmentry.testing.shopify import FakeShopify, gid

runner = CliRunner()
SERUM = "美容液リピーター"
SERUM_KEY = "seg-fc54c3"  # "seg-" + the first 6 hex digits of sha256("美容液リピーター")


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_output.console, "width", 160)  # tables unfolded


def test_a_japanese_segment_from_the_cli_to_shopify_tags(
    synced: Workspace, fake: FakeShopify
) -> None:
    folder = str(synced.folder)
    # The same query as the fixture's 'repeat' segment, computed separately: the count to expect.
    repeaters = {gid("Customer", c)
                 for c in synced.members("repeat").column("customer_id").to_pylist()}
    synced.close()
    code, output = _run("segments", "add", SERUM, "-q", "number_of_orders >= 2",
                        "--description", "2回以上購入", "-w", folder)
    assert code == 0, output
    assert f"Added {SERUM} (key {SERUM_KEY})" in output
    assert f"{len(repeaters):,} customers" in output

    code, output = _run("segments", "list", "--format", "json", "-w", folder)
    rows = {r["key"]: r for r in json.loads(output)}
    assert (rows[SERUM_KEY]["segment"], rows[SERUM_KEY]["customers"]) == (SERUM, len(repeaters))
    assert rows["repeat"]["segment"] == "repeat"  # a segment made before: its key as its name
    code, output = _run("segments", "list", "-w", folder)
    assert SERUM in output and SERUM_KEY in output

    code, output = _run("segments", "show", SERUM, "-w", folder)  # the display name works
    assert code == 0 and f"{SERUM} (key {SERUM_KEY}) (version 1) — 2回以上購入" in output

    code, output = _run("segments", "sync", SERUM, "--tag", "seg-serum", "-w", folder)
    assert code == 0, output
    assert fake.data.tagged("seg-serum") == repeaters
    with Workspace.open(folder) as ws, ws.state.connect() as conn:
        bound = conn.execute(sa.select(tables.tag_bindings.c.segment, tables.tag_bindings.c.tag)
                             ).all()
    assert (SERUM_KEY, "seg-serum") in {tuple(b) for b in bound}

    code, output = _run("segments", "edit", SERUM_KEY, "--description", "美容液を2回以上",
                        "-w", folder)
    assert code == 0 and "is now version 1" in output
    code, output = _run("segments", "show", SERUM_KEY, "-w", folder)
    assert "— 美容液を2回以上" in output


def test_cli_name_errors_say_what_to_do(synced: Workspace) -> None:
    folder = str(synced.folder)
    synced.close()
    code, output = _run("segments", "add", "repeat", "-q", "number_of_orders >= 1",
                        "--display-name", "別の名前", "-w", folder)
    assert code == 1 and "duplicate_segment" in output and "Choose another key" in output
    code, output = _run("segments", "add", "別の名前", "--key", "bad/key",
                        "-q", "number_of_orders >= 1", "-w", folder)
    assert code == 1 and "bad_key" in output
    code, output = _run("segments", "add", "x", "--display-name", "repeat",
                        "-q", "number_of_orders >= 1", "-w", folder)
    assert code == 1 and "duplicate_display_name" in output
    code, output = _run("segments", "edit", "repeat", "-w", folder)
    assert code == 2 and "Nothing to change" in output
