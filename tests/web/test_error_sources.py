"""Errors raised by the parts a web request or a run reaches beyond the query language — source
files, the workspace's settings and lock, the Shopify client — read in Japanese with hints about
the web app, and in English as the CLI says them. Expected texts are written out by hand."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from segmentry.app.jobs import Job, JobBusy
from segmentry.cli.hints import error_text as cli_text
from segmentry.connectors.generic import read_generic
from segmentry.connectors.records import read_csv
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.core import config
from segmentry.core.errors import SegmentryError
from segmentry.core.lock import holder_of, workspace_lock
from segmentry.web.hints import error_text


def _raised(action: Callable[[], object]) -> SegmentryError:
    with pytest.raises(SegmentryError) as caught:
        action()
    return caught.value


def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("", encoding="utf-8")
    error = _raised(lambda: read_csv(path))
    assert error_text(error, "ja") == (f"{path} は空です。", None)
    assert error_text(error, "en") == (f"{path} is empty.", None) == (str(error), None)


def test_a_file_without_the_columns_needed(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("id,buyer,when\n1,a@example.com,2025-01-01\n", encoding="utf-8")
    error = _raised(lambda: read_generic(path, mapping={}, rows="order", shop_id="s",
                                         tz="Asia/Tokyo"))
    # order_id, customer_id or email, processed_at and total are missing: four problems.
    message, hint = error_text(error, "ja")
    assert message == f"{path} の列に 4 件の問題があります。何も取り込んでいません。"
    assert hint == ("ソースの列の対応づけでファイルの列名を指定してください（segmentry の管理者に"
                    "依頼してください）。ファイルの列: id, buyer, when。")
    english, english_hint = error_text(error, "en")
    assert english == f"{path}: 4 problem(s) in the columns; nothing was imported."
    assert english_hint is not None and "--map" not in english_hint
    # The CLI keeps its advice about --map.
    assert cli_text(error) == (english, "Map the file's columns with --map canonical=file_column "
                               "(a source's `mapping` in segmentry.toml). The file's columns: "
                               "id, buyer, when.")


def test_a_workspace_without_settings(tmp_path: Path) -> None:
    error = _raised(lambda: config.load(tmp_path))
    assert error_text(error, "ja") == (f"{tmp_path} に segmentry.toml がありません。", None)
    assert str(error) == f"No segmentry.toml in {tmp_path}."


def test_a_busy_workspace_names_who_in_japanese(tmp_path: Path) -> None:
    with workspace_lock(tmp_path, "segmentry run"):
        holder = holder_of(tmp_path)
        assert holder is not None and holder["pid"] == os.getpid()
        with pytest.raises(SegmentryError) as caught, workspace_lock(tmp_path, "again"):
            pass
    message, hint = error_text(caught.value, "ja")
    assert message == (f"ワークスペースは使用中です（{holder['host']} のプロセス {os.getpid()} が "
                       f"{holder['since']} UTC から「segmentry run」を実行中）。")
    assert hint == ("終了までお待ちください（「実行履歴」ページで確認できます）。"
                    "何も変更されていません。")
    assert f"process {os.getpid()} on {holder['host']} running `segmentry run`" in str(caught.value)


def _client(status: int) -> ShopifyClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json={"errors": "x"}))
    return ShopifyClient("my-store.myshopify.com", "shpat_x", transport=transport,
                         max_retries=1, sleep=lambda seconds: None)


def test_shopify_refusing_the_token_points_to_the_settings_page() -> None:
    with _client(401) as client:
        error = _raised(lambda: client.execute("{ shop { name } }"))
    message, hint = error_text(error, "ja")
    assert message == ("Shopifyが my-store.myshopify.com のアクセストークンを受け付けませんでした"
                       "（HTTP 401: 無効・取り消し・期限切れ）。")
    assert hint is not None and hint.startswith("「設定」ページで、アプリの作り方に合わせて")
    assert "クライアント ID とシークレット" in hint and "OAuth インストール" in hint
    _, english_hint = error_text(error, "en")
    assert english_hint is not None and english_hint.startswith(
        "Connect again on the Settings page the way the app was made")
    cli_hint = cli_text(error)[1] or ""  # the CLI's
    assert "segmentry connect shopify --shop my-store.myshopify.com" in cli_hint


def test_shopify_not_answering() -> None:
    with _client(503) as client:
        error = _raised(lambda: client.execute("{ shop { name } }"))
    assert error.code == "unavailable"
    message, _ = error_text(error, "ja")
    assert message == ("Shopify（my-store.myshopify.com）が応答しません: "
                       "HTTP 503（2 回試しました）。")
    assert error.message == ("Shopify (my-store.myshopify.com) is not answering: "
                             "HTTP 503, 2 attempts.")


def test_a_busy_job_is_named_in_the_readers_language() -> None:
    busy = JobBusy(Job(id=7, kind="tag_sync", subject="loyal", status="running"))
    assert error_text(busy, "ja") == (
        "バックグラウンドの処理（タグ連携、#7）が実行中です。処理は一度に一つずつ実行されます。",
        "終わるまでお待ちください。進み具合は「実行履歴」ページで確認できます。")
    assert busy.message == "A background job (a tag sync, #7) is under way; one job runs at a time."
