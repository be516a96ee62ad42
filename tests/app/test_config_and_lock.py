"""Workspace settings and the workspace lock."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest

from segmentry.app.workspace import Workspace
from segmentry.core.config import Settings, load, save
from segmentry.core.errors import ConfigError, LockHeldError, WorkspaceError
from segmentry.core.lock import holder_of, workspace_lock


def test_settings_round_trip_and_workspace_placeholder(tmp_path: Path) -> None:
    settings = Settings()
    settings.shop.id = "acme"
    save(settings, tmp_path)
    loaded = load(tmp_path)
    assert loaded.shop.id == "acme"
    assert loaded.warehouse.url == f"duckdb:///{tmp_path.resolve()}/warehouse.duckdb"
    assert "{workspace}" in (tmp_path / "segmentry.toml").read_text()


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(Settings(), tmp_path)
    monkeypatch.setenv("SEGMENTRY_SHOP__TIMEZONE", "Europe/Berlin")
    assert load(tmp_path).shop.timezone == "Europe/Berlin"


def test_bad_config_names_the_setting(tmp_path: Path) -> None:
    (tmp_path / "segmentry.toml").write_text('[shop]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match=r"shop\.timezone: .*unknown time zone 'Mars/Olympus'"):
        load(tmp_path)
    (tmp_path / "segmentry.toml").write_text("[shop\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(tmp_path)


def test_open_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a segmentry workspace"):
        Workspace.open(tmp_path)


def test_create_refuses_an_existing_workspace(tmp_path: Path) -> None:
    Workspace.create(tmp_path / "w").close()
    with pytest.raises(WorkspaceError, match="already a segmentry workspace"):
        Workspace.create(tmp_path / "w")


def _hold(folder: str, ready: Any, done: Any) -> None:  # multiprocessing Events
    with workspace_lock(Path(folder), "run 2026-01-01"):
        ready.set()
        done.wait(10)


def test_second_holder_is_told_who_holds_the_lock(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    ready, done = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(str(tmp_path), ready, done))
    other.start()
    try:
        assert ready.wait(10)
        with pytest.raises(LockHeldError) as caught, workspace_lock(tmp_path, "run again"):
            pass
        assert f"process {other.pid}" in caught.value.message
        assert "`run 2026-01-01`" in caught.value.message
    finally:
        done.set()
        other.join(10)
    # Released by the other process: now it can be taken, and the holder record is cleared after.
    with workspace_lock(tmp_path, "mine"):
        assert holder_of(tmp_path) == {**holder_of(tmp_path), "pid": os.getpid()}  # type: ignore[dict-item]
    assert holder_of(tmp_path) is None


def test_every_change_to_the_settings_file_keeps_its_comments(tmp_path: Path) -> None:
    """The web's settings, `import --save-source` and connecting Shopify all edit
    segmentry.toml through core.config.edit: a shop's own notes in the file survive each."""
    from segmentry.core import config
    from segmentry.core.config import ScheduleSettings, SourceSettings, WebSettings

    Workspace.create(tmp_path / "shop").close()
    path = tmp_path / "shop" / config.CONFIG_FILE
    path.write_text("# Run by the CRM team — ask Sato before changing.\n" + path.read_text())
    folder = tmp_path / "shop"

    config.save_schedule(folder, ScheduleSettings(time="05:30"))
    config.save_section(folder, "web", WebSettings(default_language="ja"))
    assert config.add_source(folder, SourceSettings(kind="shopify_csv", path="orders.csv"))
    assert not config.add_source(folder, SourceSettings(kind="shopify_csv", path="orders.csv"))
    config.remove_sources(folder, "shopify_csv")

    text = path.read_text()
    assert text.startswith("# Run by the CRM team — ask Sato before changing.\n")
    settings = config.load(folder)
    assert settings.schedule.time == "05:30" and settings.web.default_language == "ja"
    assert settings.sources == []


def test_a_change_that_would_make_the_file_invalid_is_refused_and_nothing_written(
    tmp_path: Path,
) -> None:
    from segmentry.core import config
    from segmentry.core.errors import ConfigError

    Workspace.create(tmp_path / "shop").close()
    path = tmp_path / "shop" / config.CONFIG_FILE
    before = path.read_text()
    with pytest.raises(ConfigError, match="invalid"), config.edit(tmp_path / "shop") as doc:
        doc["schedule"] = {"time": "25:99"}
    assert path.read_text() == before
