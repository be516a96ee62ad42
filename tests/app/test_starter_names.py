"""The starter segments are named in the language they are made in: `segmentry demo --lang ja`
gives Japanese display names and descriptions, the keys stay the templates' slugs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app

runner = CliRunner()


def test_demo_in_japanese_names_the_starter_segments_in_japanese(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    result = runner.invoke(app, ["demo", str(folder), "--customers", "100", "--lang", "ja"])
    assert result.exit_code == 0, result.output
    with Workspace.open(folder) as ws:
        made = {s.key: (s.display_name, s.description) for s in ws.segments()}
    assert made["repeat-customers"] == ("リピーター", "購入回数が2回以上の顧客。")
    assert made["line-connected"] == (
        "LINE連携済み", "タグ「line」が付いた顧客（LINEアカウント連携済み）。")
    assert set(made) == set(TEMPLATES)
    listed = runner.invoke(app, ["segments", "list", "--format", "json", "-w", str(folder)])
    names = {row["key"]: row["segment"] for row in json.loads(listed.output)}
    assert names["f2-candidates"] == "F2転換候補"


@pytest.mark.parametrize("lang", ["fr"])
def test_demo_refuses_an_unknown_language(tmp_path: Path, lang: str) -> None:
    result = runner.invoke(app, ["demo", str(tmp_path / "d"), "--lang", lang])
    assert result.exit_code == 1 and "--lang ja" in result.output
    assert not (tmp_path / "d").exists()


def test_every_template_is_complete_valid_and_distinct() -> None:
    from segmentry import language
    from segmentry.app.segment_names import is_key

    for lang in ("ja", "en"):
        titles = [t.title_in(lang) for t in TEMPLATES.values()]
        assert len(set(titles)) == len(titles) == 14, lang  # display names may not clash
        assert all(t.description_in(lang).strip() for t in TEMPLATES.values())
    assert all(is_key(name) for name in TEMPLATES)
    for template in TEMPLATES.values():
        language.validate(template.query, segments=lambda _: None)
    # The Japanese texts are Japanese: each has a kana or kanji character.
    assert all(any("\u3040" <= c <= "\u9fff" for c in t.description_in("ja"))
               for t in TEMPLATES.values())
