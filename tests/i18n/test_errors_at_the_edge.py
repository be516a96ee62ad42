"""The core raises codes with params; the web and the CLI translate them and add hints of their
own, so a shop manager on the web never reads a command line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import segmentry
from segmentry.app.workspace import Workspace
from segmentry.cli import hints as cli
from segmentry.cli.output import show_error
from segmentry.core.errors import LockHeldError, WorkspaceError
from segmentry.core.lock import workspace_lock
from segmentry.i18n.extract import used_messages
from segmentry.web import hints as web

SRC = Path(segmentry.__file__).parent
_COMMAND = re.compile(r"`segmentry |(^| )--[a-z]")


def test_the_core_names_no_command() -> None:
    texts = used_messages(SRC / "core", SRC.parent.parent / "babel.cfg")
    assert len(texts) > 5
    assert sorted(t for t in texts if _COMMAND.search(t)) == []


def test_a_busy_workspace_is_explained_by_each_interface(tmp_path: Path) -> None:
    with workspace_lock(tmp_path, "run 2026-01-01"), pytest.raises(LockHeldError) as caught, \
            workspace_lock(tmp_path, "segments add vip"):
        pass
    error = caught.value
    assert error.code == "lock_held" and error.hint is None  # the core gives none
    message, hint = cli.error_text(error)
    assert message == error.message
    assert hint == "Wait for it to finish (see `segmentry runs`); nothing was changed."
    assert web.error_text(error, "en")[1] == \
        "Wait for it to finish (see the Runs page); nothing was changed."
    message, hint = web.error_text(error, "ja")
    assert message.startswith("ワークスペースは使用中です（") and "run 2026-01-01" in message
    assert hint == ("終了までお待ちください（「実行履歴」ページで確認できます）。"
                    "何も変更されていません。")


def test_a_folder_without_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError) as caught:
        Workspace.open(tmp_path)
    error = caught.value
    assert error.code == "not_a_workspace" and error.params["file"] == "segmentry.toml"
    assert cli.error_text(error) == (
        f"{tmp_path.resolve()} is not a segmentry workspace (no segmentry.toml).",
        "Create one with `segmentry init PATH` or `segmentry demo`.")
    assert web.error_text(error, "ja") == (
        f"{tmp_path.resolve()} は segmentry のワークスペースではありません（segmentry.toml が"
        "ありません）。", None)


def test_the_cli_prints_its_hint(capsys: pytest.CaptureFixture[str]) -> None:
    show_error(WorkspaceError("{folder} is not a segmentry workspace (no {file}).",
                              code="not_a_workspace",
                              params={"folder": "/shop", "file": "segmentry.toml"}))
    printed = capsys.readouterr().err
    assert "Error (not_a_workspace): /shop is not a segmentry workspace (no segmentry.toml)." \
        in printed
    assert "Create one with `segmentry init PATH` or `segmentry demo`." in printed
