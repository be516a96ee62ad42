"""Renaming a segment's key: members, history, metrics, folder, references from other segments
and the Shopify tag binding stay with it; the old key answers "renamed"; bad and taken keys
are refused with nothing changed.

On the small store (fixtures/small_store.py), DuckDB, computed through 2024-05-31. As of
2024-04-30: 2+ orders = everyone but c08, c10, c14; tagged 'line' = c01 c02 c12 (all with 2+
orders).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from segmentry.activation.shopify import tags
from segmentry.analytics import membership
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.connectors.shopify import tables
from segmentry.core.errors import SegmentError
from segmentry.store import schema
from segmentry.web import folders
from segmentry.web.hints import error_text

from .fixtures import small_store

DAY = dt.date(2024, 4, 30)
TWO_PLUS = [c for c in small_store.CUSTOMER_IDS if c not in ("c08", "c10", "c14")]
LINE_TWO_PLUS = ["c01", "c02", "c12"]
FEWER = ["c08", "c10", "c14"]


def _members(ws: Workspace, name: str, day: dt.date = DAY) -> list[str]:
    return ws.members(name, as_of=day)["customer_id"].to_pylist()


def _define(ws: Workspace) -> None:
    ws.add_segment("repeaters", "number_of_orders >= 2", display_name="リピーター")
    ws.add_segment("line-repeaters", "segments contains 'repeaters' and customer_tags "
                   "CONTAINS 'line'")
    ws.add_segment("one-timers", "NOT segments CONTAINS 'repeaters'")
    # A second version of a referring segment: every version is rewritten.
    ws.edit_segment("line-repeaters",
                    "segments CONTAINS 'repeaters' AND (customer_tags CONTAINS 'line')")


def _bind(ws: Workspace) -> int:
    tags.bind(ws, "repeaters", "seg-repeaters")
    return tags.create_job(ws, tags.plan_tags(ws, "repeaters", "seg-repeaters"))


def test_rename_keeps_everything(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    _define(ws)
    job = _bind(ws)
    before = ws.segment("repeaters")
    folders.set_folder(ws.state, before.id, "定番")
    metrics_before = ws.metrics("repeaters")
    history_before = ws.history("repeaters")
    assert _members(ws, "repeaters") == TWO_PLUS  # the fixture's story
    assert _members(ws, "line-repeaters") == LINE_TWO_PLUS
    assert _members(ws, "one-timers") == FEWER

    after = ws.rename_segment("repeaters", "two-plus")

    assert (after.key, after.id, after.version) == ("two-plus", before.id, before.version)
    assert (after.ledger, after.display_name) == (before.ledger, "リピーター")
    assert membership.ledgers(ws.warehouse) >= {before.ledger}
    assert _members(ws, "two-plus") == TWO_PLUS
    pd.testing.assert_frame_equal(ws.metrics("two-plus"), metrics_before)
    pd.testing.assert_frame_equal(ws.history("two-plus"), history_before)
    assert folders.folder_of(ws.state, after.id) == "定番"
    # References now name the new key, in every version, and mean the same.
    referring = ws.segment("line-repeaters")
    assert referring.query == "segments CONTAINS 'two-plus' AND customer_tags CONTAINS 'line'"
    with ws.state.connect() as conn:
        texts = conn.execute(sa.select(schema.segment_versions.c.query).where(
            schema.segment_versions.c.segment_id == referring.id)).scalars().all()
    assert len(texts) == 2 and all("'two-plus'" in t and "'repeaters'" not in t for t in texts)
    assert ws.segment("one-timers").query == "NOT segments CONTAINS 'two-plus'"
    ws.recompute_segment("line-repeaters")
    ws.recompute_segment("one-timers")
    assert _members(ws, "line-repeaters") == LINE_TWO_PLUS
    assert _members(ws, "one-timers") == FEWER
    # The tag binding, its managed tag and its sync job follow the key; the tag is the same.
    assert tags.managed_tags_of(ws.state, "two-plus") == ("seg-repeaters", [])
    assert tags.unfinished_jobs(ws, "two-plus") == [job]
    status = tags.sync_status(ws.state, "two-plus")
    assert status is not None and status.tag == "seg-repeaters"
    assert tags.sync_status(ws.state, "repeaters") is None
    with ws.state.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.tag_bindings).where(
            tables.tag_bindings.c.segment == "repeaters")).scalar() == 0
    # The next daily run evaluates every segment, the references included.
    ws.run(dt.date(2024, 6, 1))
    assert len(_members(ws, "line-repeaters", dt.date(2024, 6, 1))) == len(LINE_TWO_PLUS)


def test_old_key_names_the_new_one(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    ws.add_segment("repeaters", "number_of_orders >= 2", display_name="2回以上")
    ws.rename_segment("repeaters", "two-plus")
    with pytest.raises(SegmentError) as caught:
        ws.members("repeaters")
    assert caught.value.code == "renamed_segment"
    assert caught.value.message == "Segment 'repeaters' has a new key: 'two-plus'."
    assert error_text(caught.value, "ja") == (
        "セグメント「repeaters」のキーは「two-plus」に変わりました。",
        "このセグメントのページは /segments/two-plus です。")
    # Renaming back frees the old key again; a new segment may take a former key.
    ws.rename_segment("two-plus", "repeaters")
    assert _members(ws, "repeaters") == TWO_PLUS
    with pytest.raises(SegmentError) as caught:
        ws.segment("two-plus")
    assert caught.value.params["key"] == "repeaters"
    ws.add_segment("two-plus", "number_of_orders >= 3")
    assert ws.segment("two-plus").query == "number_of_orders >= 3"


def test_old_key_that_is_the_display_name_still_finds_it(
        small_duckdb_workspace: Workspace) -> None:
    # A segment added with one name has it as key and display name; the name stays.
    ws = small_duckdb_workspace
    ws.add_segment("repeaters", "number_of_orders >= 2")
    renamed = ws.rename_segment("repeaters", "two-plus")
    assert (renamed.key, renamed.display_name) == ("two-plus", "repeaters")
    assert ws.segment("repeaters").key == "two-plus"


@pytest.mark.parametrize(("key", "code", "english", "japanese"), [
    ("one-timers", "duplicate_segment", "A segment with the key 'one-timers' already exists.",
     "キー「one-timers」のセグメントはすでにあります。"),
    ("美容液", "bad_key", "'美容液' is not a usable segment key.",
     "「美容液」はセグメントのキーに使えません。"),
    ("-x", "bad_key", "'-x' is not a usable segment key.",
     "「-x」はセグメントのキーに使えません。"),
])
def test_bad_or_taken_key_is_refused(small_duckdb_workspace: Workspace, key: str, code: str,
                                     english: str, japanese: str) -> None:
    ws = small_duckdb_workspace
    ws.add_segment("repeaters", "number_of_orders >= 2")
    ws.add_segment("one-timers", "NOT segments CONTAINS 'repeaters'")
    with pytest.raises(SegmentError) as caught:
        ws.edit_segment("repeaters", key=key, description="changed")
    assert (caught.value.code, caught.value.message) == (code, english)
    assert error_text(caught.value, "ja")[0] == japanese
    assert ws.segment("repeaters").description == ""  # nothing was changed
    assert ws.segment("one-timers").query == "NOT segments CONTAINS 'repeaters'"


def test_cli_edit_key(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    ws.add_segment("repeaters", "number_of_orders >= 2", display_name="リピーター")
    folder = str(ws.folder)
    ws.close()
    result = CliRunner().invoke(app, ["segments", "edit", "リピーター", "--key", "two-plus",
                                      "-w", folder])
    assert result.exit_code == 0, result.output
    assert "Renamed key repeaters → two-plus." in result.output
    result = CliRunner().invoke(app, ["segments", "edit", "two-plus", "--key", "Bad key!",
                                      "-w", folder])
    assert result.exit_code != 0
    assert "'Bad key!' is not a usable segment key." in result.output
    with Workspace.open(folder) as again:
        assert _members(again, "two-plus") == TWO_PLUS


def test_edit_query_and_key_together(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    _define(ws)
    three_plus = ["c01", "c02", "c03", "c06", "c07", "c09"]  # 3+ orders on DAY (the fixture)
    edited = ws.edit_segment("repeaters", "number_of_orders >= 3", key="three-plus")
    assert (edited.key, edited.version) == ("three-plus", 2)
    assert _members(ws, "three-plus") == three_plus
    # The referring segments were rewritten first, then recomputed for the new query.
    assert ws.segment("one-timers").query == "NOT segments CONTAINS 'three-plus'"
    assert _members(ws, "one-timers") == [
        c for c in small_store.CUSTOMER_IDS if c not in three_plus]
    assert _members(ws, "line-repeaters") == ["c01", "c02"]  # c12 has 2 orders
