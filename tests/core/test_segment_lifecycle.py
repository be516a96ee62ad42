"""Adding, editing and removing segments; references between segments and their cycles.

On the small store (fixtures/small_store.py), DuckDB, computed through 2024-05-31. As of
2024-04-30: 2+ orders = everyone but c08, c10, c14; 3+ orders = c01 c02 c03 c06 c07 c09;
tagged 'line' = c01 c02 c12.
"""

from __future__ import annotations

import datetime as dt

import pytest

from segmentry import membership
from segmentry.errors import QueryError, SegmentError
from segmentry.workspace import Workspace

from .fixtures import small_store

DAY = dt.date(2024, 4, 30)
TWO_PLUS = [c for c in small_store.CUSTOMER_IDS if c not in ("c08", "c10", "c14")]
THREE_PLUS = ["c01", "c02", "c03", "c06", "c07", "c09"]


def _members(ws: Workspace, name: str) -> list[str]:
    return ws.members(name, as_of=DAY)["customer_id"].to_pylist()


def _ledgers(ws: Workspace) -> set[str]:
    return membership.ledgers(ws.warehouse)


def _customers_on(ws: Workspace, name: str, day: dt.date) -> int:
    return int(ws.metrics(name).set_index("day").loc[day, "customers"])


def test_add_edit_remove(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    added = ws.add_segment("repeaters", "number_of_orders >= 2", description="2+ orders")
    assert (added.version, added.history_start) == (1, dt.date(2023, 10, 1))
    assert _ledgers(ws) == {added.ledger}
    assert _members(ws, "repeaters") == TWO_PLUS
    assert _customers_on(ws, "repeaters", DAY) == len(TWO_PLUS)

    edited = ws.edit_segment("repeaters", "number_of_orders >= 3")
    assert edited.version == 2 and edited.query == "number_of_orders >= 3"
    assert edited.ledger != added.ledger
    assert _ledgers(ws) == {edited.ledger}  # the old version's rows are deleted
    assert _members(ws, "repeaters") == THREE_PLUS  # history recomputed, past days included
    assert _customers_on(ws, "repeaters", DAY) == len(THREE_PLUS)
    assert ws.edit_segment("repeaters", "number_of_orders >= 3").version == 2  # same text

    ws.remove_segment("repeaters")
    assert ws.segments() == []
    assert _ledgers(ws) == set()
    with pytest.raises(SegmentError) as caught:
        ws.members("repeaters", as_of=DAY)
    assert caught.value.code == "unknown_segment"


def test_a_bad_query_adds_nothing(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    ws.add_segment("repeaters", "number_of_orders >= 2")
    before = (ws.segments(), _ledgers(ws))
    with pytest.raises(QueryError) as caught:
        ws.add_segment("typo", "numer_of_orders > 1")
    assert (caught.value.code, caught.value.suggestion) == ("unknown_attribute", "number_of_orders")
    with pytest.raises(QueryError):
        ws.edit_segment("repeaters", "number_of_orders >=")
    assert (ws.segments(), _ledgers(ws)) == before


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
