"""Adding, editing and removing segments; references between segments and their cycles.

On the small store (fixtures/small_store.py), DuckDB, computed through 2024-05-31. As of
2024-04-30: 2+ orders = everyone but c08, c10, c14; 3+ orders = c01 c02 c03 c06 c07 c09;
tagged 'line' = c01 c02 c12.
"""

from __future__ import annotations

import datetime as dt

import pytest

from segmentry.analytics import membership
from segmentry.app.workspace import Workspace
from segmentry.core.errors import QueryError, SegmentError

from .fixtures import small_store

DAY = dt.date(2024, 4, 30)
TWO_PLUS = [c for c in small_store.CUSTOMER_IDS if c not in ("c08", "c10", "c14")]
THREE_PLUS = ["c01", "c02", "c03", "c06", "c07", "c09"]


def _members(ws: Workspace, name: str) -> list[str]:
    return ws.members(name, as_of=DAY)["customer_id"].to_pylist()


def _membership_keys(ws: Workspace) -> set[str]:
    return membership.membership_keys(ws.warehouse)


def _customers_on(ws: Workspace, name: str, day: dt.date) -> int:
    return int(ws.metrics(name).set_index("day").loc[day, "customers"])


def test_add_edit_remove(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    added = ws.add_segment("repeaters", "number_of_orders >= 2", description="2+ orders")
    assert (added.version, added.history_start) == (1, dt.date(2023, 10, 1))
    assert _membership_keys(ws) == {added.membership_key}
    assert _members(ws, "repeaters") == TWO_PLUS
    assert _customers_on(ws, "repeaters", DAY) == len(TWO_PLUS)

    edited = ws.edit_segment("repeaters", "number_of_orders >= 3")
    assert edited.version == 2 and edited.query == "number_of_orders >= 3"
    assert edited.membership_key != added.membership_key
    assert _membership_keys(ws) == {edited.membership_key}  # the old version's rows are deleted
    assert _members(ws, "repeaters") == THREE_PLUS  # history recomputed, past days included
    assert _customers_on(ws, "repeaters", DAY) == len(THREE_PLUS)
    assert ws.edit_segment("repeaters", "number_of_orders >= 3").version == 2  # same text

    ws.remove_segment("repeaters")
    assert ws.segments() == []
    assert _membership_keys(ws) == set()
    with pytest.raises(SegmentError) as caught:
        ws.members("repeaters", as_of=DAY)
    assert caught.value.code == "unknown_segment"


def test_a_bad_query_adds_nothing(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    ws.add_segment("repeaters", "number_of_orders >= 2")
    before = (ws.segments(), _membership_keys(ws))
    with pytest.raises(QueryError) as caught:
        ws.add_segment("typo", "numer_of_orders > 1")
    assert (caught.value.code, caught.value.suggestion) == ("unknown_attribute", "number_of_orders")
    with pytest.raises(QueryError):
        ws.edit_segment("repeaters", "number_of_orders >=")
    assert (ws.segments(), _membership_keys(ws)) == before


def test_segments_referring_to_segments(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    ws.add_segment("repeaters", "number_of_orders >= 2")
    ws.add_segment(
        "line-repeaters", "segments CONTAINS 'repeaters' AND customer_tags CONTAINS 'line'"
    )
    assert _members(ws, "line-repeaters") == ["c01", "c02", "c12"]

    ws.edit_segment("repeaters", "number_of_orders >= 3")  # the dependant follows
    assert _members(ws, "line-repeaters") == ["c01", "c02"]  # c12 has 2 orders

    with pytest.raises(SegmentError) as in_use:
        ws.remove_segment("repeaters")
    assert in_use.value.code == "segment_in_use"
    assert "line-repeaters" in in_use.value.message

    before = ws.segment("repeaters")
    with pytest.raises(QueryError) as cycle:
        ws.edit_segment("repeaters", "segments CONTAINS 'line-repeaters'")
    assert cycle.value.code == "segment_cycle"
    assert ws.segment("repeaters") == before
    assert _members(ws, "repeaters") == THREE_PLUS

    with pytest.raises(QueryError) as unknown:
        ws.add_segment("orphan", "segments CONTAINS 'no-such-segment'")
    assert unknown.value.code == "unknown_segment"


# ------------------------------------------------------------ display names and keys

SERUM = "美容液リピーター"
# The key of a Japanese-only name: "seg-" and the first 6 hex digits of the name's SHA-256
# (printf '美容液リピーター' | sha256sum).
SERUM_KEY = "seg-fc54c3"


def test_a_japanese_name_gets_a_stable_ascii_key(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    added = ws.add_segment(SERUM, "number_of_orders >= 2", description="2回以上購入")
    assert (added.key, added.name, added.display_name) == (SERUM_KEY, SERUM_KEY, SERUM)
    # Either name finds it; members are the 2+ order customers of the fixture.
    assert _members(ws, SERUM) == _members(ws, SERUM_KEY) == TWO_PLUS
    assert [(s.key, s.display_name) for s in ws.segments()] == [(SERUM_KEY, SERUM)]
    # A second segment whose name gives the same key gets the next free one.
    with pytest.raises(SegmentError) as caught:
        ws.add_segment(f"  {SERUM}\u3000", "number_of_orders >= 3")  # trimmed: the same name
    assert caught.value.code == "duplicate_display_name"
    other = ws.add_segment(key=f"{SERUM_KEY}-x", display_name="美容液リピーター（3回以上）",
                           query="number_of_orders >= 3")
    assert _members(ws, other.display_name) == THREE_PLUS


def test_key_and_display_name_rules(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    loyal = ws.add_segment("loyal", "number_of_orders >= 3", display_name="ロイヤル顧客")
    assert (loyal.key, loyal.display_name) == ("loyal", "ロイヤル顧客")
    derived = ws.add_segment(display_name="Big Spenders!", query="number_of_orders >= 2")
    assert derived.key == "big-spenders"
    cases = [
        ({"key": "loyal", "display_name": "Other"}, "duplicate_segment"),
        ({"key": "bad/key", "display_name": "Other"}, "bad_key"),
        ({"key": "-starts-with-dash", "display_name": "Other"}, "bad_key"),
        ({"key": "fine", "display_name": "ロイヤル顧客"}, "duplicate_display_name"),
        ({"key": "fine", "display_name": "   "}, "bad_display_name"),
        ({"key": "fine", "display_name": "x" * 101}, "bad_display_name"),
        ({"key": "fine", "display_name": "two\nlines"}, "bad_display_name"),
    ]
    for names, code in cases:
        with pytest.raises(SegmentError) as caught:
            ws.add_segment(query="number_of_orders >= 1", **names)
        assert caught.value.code == code, names
    assert [s.key for s in ws.segments()] == ["big-spenders", "loyal"]  # nothing half-added
    assert ws.add_segment(display_name="x" * 100, query="number_of_orders >= 1").key == "x" * 60


def test_description_and_display_name_edits_keep_the_version(
    small_duckdb_workspace: Workspace,
) -> None:
    ws = small_duckdb_workspace
    added = ws.add_segment("repeaters", "number_of_orders >= 2", description="old words")
    ws.add_segment(SERUM, "number_of_orders >= 3")
    edited = ws.edit_segment("repeaters", description="  新しい説明  ", display_name="リピーター")
    assert (edited.version, edited.membership_key, edited.query) == (
        1, added.membership_key, added.query)
    assert (edited.description, edited.display_name, edited.key) == (
        "新しい説明", "リピーター", "repeaters")
    assert edited.updated_at > added.updated_at
    reopened = Workspace.open(ws.folder)  # saved, not only returned
    assert reopened.segment("リピーター").description == "新しい説明"
    reopened.close()
    with pytest.raises(SegmentError) as caught:
        ws.edit_segment("repeaters", display_name=SERUM)
    assert caught.value.code == "duplicate_display_name"
    # A new query and a new description in one edit: both saved.
    both = ws.edit_segment("リピーター", "number_of_orders >= 3", description="3回以上")
    assert (both.version, both.description) == (2, "3回以上")
    assert _members(ws, "repeaters") == THREE_PLUS


def test_references_use_the_key(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    ws.add_segment(SERUM, "number_of_orders >= 2")
    both = ws.add_segment("serum-line", f"segments CONTAINS '{SERUM_KEY}' AND "
                                        "customer_tags CONTAINS 'line'")
    assert _members(ws, both.key) == sorted({"c01", "c02", "c12"} & set(TWO_PLUS))
    with pytest.raises(SegmentError) as caught:
        ws.remove_segment(SERUM)
    assert caught.value.code == "segment_in_use"
