"""The Shopify commands, end to end through Typer against the fake."""

from __future__ import annotations

import os
from pathlib import Path

from typer.testing import CliRunner

from segmentry.app.erasure import erase_customer, finish_erasures
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.testing.shopify import FakeShopify

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


def test_connect_names_every_missing_scope(workspace: Workspace, store_tables: dict) -> None:
    folder = str(workspace.folder)
    workspace.close()
    with FakeShopify(scopes=frozenset({"read_customers", "read_orders"})) as shop:
        code, output = _run(
            "connect",
            "shopify",
            "--shop",
            shop.shop,
            "--token",
            shop.token,
            "--endpoint",
            shop.url,
            "-w",
            folder,
        )
    assert code == 1
    assert "write_customers, read_all_orders, read_products" in output
    assert "shopify" not in Path(folder, "segmentry.toml").read_text()


def test_an_invalid_token_stops_with_what_to_do(workspace: Workspace, fake: FakeShopify) -> None:
    folder = str(workspace.folder)
    workspace.close()
    code, output = _run(
        "connect",
        "shopify",
        "--shop",
        fake.shop,
        "--token",
        "shpat_wrong",
        "--endpoint",
        fake.url,
        "-w",
        folder,
    )
    assert code == 1
    assert "invalid_token" in output and "segmentry connect shopify" in output


def test_connect_sync_dry_run_log_and_explain(synced: Workspace, fake: FakeShopify) -> None:
    folder = str(synced.folder)
    synced.close()
    secrets = Path(folder, "secrets")
    assert oct(secrets.stat().st_mode & 0o777) == "0o600"
    assert fake.token not in Path(folder, "segmentry.toml").read_text()
    code, output = _run(
        "segments", "sync", "repeat", "--tag", "seg-repeat", "--dry-run", "-w", folder
    )
    assert code == 0, output
    assert "Plan (dry run)" in output and fake.mutations == []
    code, output = _run(
        "segments",
        "sync",
        "repeat",
        "--tag",
        "seg-repeat",
        "--create-shopify-segment",
        "-w",
        folder,
    )
    assert code == 0, output
    assert fake.data.tagged("seg-repeat")
    code, output = _run("sync", "log", "--format", "csv", "-w", folder)
    assert code == 0 and "tags_add" in output and "segment_create" in output
    code, output = _run("segments", "explain", "repeat", "--shopify", "-w", folder)
    assert code == 0 and output.strip() == "number_of_orders >= 2"
    assert os.environ.get("SEGMENTRY_SHOPIFY_TOKEN") is None


def test_webhooks_status_counts_erasures_waiting(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "shop") as ws:
        erase_customer(ws, "c-1", ["hanako@example.jp"])
        erase_customer(ws, "c-2", ["taro@example.jp"])
    code, out = _run("shopify", "webhooks", "-w", str(tmp_path / "shop"))
    assert code == 0, out
    assert "Erasures waiting to rewrite the warehouse: 2" in out

    with Workspace.open(tmp_path / "shop") as ws:
        assert finish_erasures(ws) == 2
    code, out = _run("shopify", "webhooks", "-w", str(tmp_path / "shop"))
    assert (code, "Erasures waiting" in out) == (0, False)
