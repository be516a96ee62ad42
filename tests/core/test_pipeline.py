"""The daily run: idempotent per day, moves one day at a time, all or nothing, one at a time.

On the small store (fixtures/small_store.py) in a DuckDB workspace whose current day is
2024-05-31: `repeaters` (2+ orders) holds everyone but c08 (1 order) and c10 (none); `one-order`
holds c08.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import segmentry.analytics.membership
from segmentry.app.pipeline import Pipeline
from segmentry.app.workspace import Workspace
from segmentry.core.clock import utcnow
from segmentry.core.errors import LockHeldError, RunError, stored_error
from segmentry.store import schema

from .conftest import SMALL_STORE_DAY, copy_workspace
from .fixtures import small_store

DAY = SMALL_STORE_DAY
NEXT = DAY + dt.timedelta(days=1)
EVERYONE = small_store.CUSTOMER_IDS
# On NEXT: c08's 2nd order (noon), c10's first at 00:00 Tokyo (15:00 UTC the day before).
NEXT_DAY_ORDERS = small_store.order_tables([
    small_store.order("o1501", "c08", dt.datetime(2024, 6, 1, 3), [("1005", 1)], "line"),
    small_store.order("o1502", "c10", dt.datetime(2024, 5, 31, 15), [("1003", 1)], "direct"),
])


@pytest.fixture(scope="module")
def shop_folder(tmp_path_factory: pytest.TempPathFactory, small_duckdb_folder: Path) -> Path:
    folder = tmp_path_factory.mktemp("pipeline") / "shop"
    with copy_workspace(small_duckdb_folder, folder) as ws:
        ws.add_segment("repeaters", "number_of_orders >= 2")
        ws.add_segment("one-order", "number_of_orders = 1")
    return folder


@pytest.fixture
def shop(shop_folder: Path, tmp_path: Path) -> Iterator[Workspace]:
    with copy_workspace(shop_folder, tmp_path / "shop") as ws:
        yield ws


def _members(ws: Workspace, name: str, day: dt.date) -> list[str]:
    return ws.members(name, as_of=day)["customer_id"].to_pylist()


def _ledgers(ws: Workspace) -> set[str]:
    return segmentry.analytics.membership.ledgers(ws.warehouse)


def _pointers(ws: Workspace) -> dict[str, str | None]:
    return {s.name: s.ledger for s in ws.segments()}


def _state(ws: Workspace) -> dict[str, Any]:
    """Everything a run may change, as readers see it: ledgers through the computed day,
    metric rows, members, pointers."""
    # Ledgers no segment points to (left behind by a run): always none.
    state: dict[str, Any] = {"orphans": _ledgers(ws) - set(_pointers(ws).values())}
    for segment in ws.segments():
        assert segment.computed_through is not None and segment.ledger is not None
        stretches = segmentry.analytics.membership.stretches(ws.warehouse, segment.ledger)
        rows = ws.warehouse.to_pyarrow(stretches).to_pylist()
        state[segment.name] = {
            "ledger": _ledger_through(rows, segment.computed_through),
            "metrics": ws.metrics(segment.name).astype(str).to_dict("records"),  # NaN == NaN
            "members": _members(ws, segment.name, DAY),
            "computed_through": segment.computed_through,
        }
    return state


def _ledger_through(rows: list[dict[str, Any]], day: dt.date) -> list[tuple[Any, ...]]:
    """The stretches as they read through ``day`` (a later day recorded but not committed
    is not part of the state: it reads as not yet computed)."""
    return sorted(
        (r["customer_id"], r["valid_from"],
         None if r["valid_to"] is None or r["valid_to"] > day else r["valid_to"])
        for r in rows
        if r["valid_from"] <= day
    )


def test_a_second_run_for_the_same_day_changes_nothing(shop: Workspace) -> None:
    computed = _state(shop)
    assert computed["repeaters"]["members"] == [c for c in EVERYONE if c not in ("c08", "c10")]
    assert computed["one-order"]["members"] == ["c08"]
    for _ in range(2):
        report = shop.run(DAY)
        assert report.status == "succeeded"
        assert report.joined == {"repeaters": 0, "one-order": 0}
        assert report.left == {"repeaters": 0, "one-order": 0}
        assert _state(shop) == computed  # the same stretches, metrics and pointers


def test_a_run_for_the_next_day_records_who_joined_and_left(shop: Workspace) -> None:
    shop.import_tables(NEXT_DAY_ORDERS)
    report = shop.run(NEXT)
    assert report.joined == {"repeaters": 1, "one-order": 1}  # c08; c10
    assert report.left == {"repeaters": 0, "one-order": 1}  # c08
    assert _members(shop, "repeaters", NEXT) == [c for c in EVERYONE if c != "c10"]
    assert _members(shop, "one-order", NEXT) == ["c10"]
    assert _members(shop, "one-order", DAY) == ["c08"]  # the past is kept
    repeaters = shop.metrics("repeaters").set_index("day").loc[NEXT]
    assert (repeaters.customers, repeaters.joined, repeaters.left) == (13, 1, 0)
    assert (repeaters.orders, repeaters.revenue) == (1, Decimal("3000.00"))  # c08's lotion
    one = shop.metrics("one-order").set_index("day").loc[NEXT]
    assert (one.customers, one.joined, one.left) == (1, 1, 1)
    assert (one.orders, one.revenue) == (1, Decimal("2500.00"))  # c10's cleanser
    history = shop.history("one-order")
    moves = history.set_index("day").loc[NEXT]
    assert (moves.joined, moves.left) == (1, 1)
    assert shop.segment("repeaters").computed_through == NEXT


def test_a_missed_day_is_recorded_by_the_next_run(shop: Workspace) -> None:
    shop.import_tables(NEXT_DAY_ORDERS)
    after = NEXT + dt.timedelta(days=1)
    report = shop.run(after)  # no run for NEXT: its moves are recorded on NEXT all the same
    assert report.joined == {"repeaters": 0, "one-order": 0}  # nothing moves on `after`
    assert _members(shop, "one-order", NEXT) == ["c10"]
    assert _members(shop, "one-order", DAY) == ["c08"]
    assert _members(shop, "repeaters", after) == [c for c in EVERYONE if c != "c10"]
    moves = shop.history("one-order").set_index("day").loc[NEXT]
    assert (moves.joined, moves.left) == (1, 1)  # c10 joined, c08 left, on NEXT
    one = shop.metrics("one-order").set_index("day")
    assert (one.loc[NEXT].customers, one.loc[NEXT].joined, one.loc[NEXT].left) == (1, 1, 1)
    assert (one.loc[after].customers, one.loc[after].joined) == (1, 0)
    assert shop.segment("one-order").computed_through == after


def _crash_in_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(Pipeline, "_metrics", crash)


def _crash_after_recording_the_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ledger's day is written (leavers closed, joiners inserted), then it crashes."""

    def change(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(segmentry.analytics.membership, "Change", change)


@pytest.mark.parametrize(
    ("crash", "failed_stage"),
    [(_crash_in_metrics, "metrics"), (_crash_after_recording_the_day, "segments")],
    ids=["in metrics", "after recording the day"],
)
def test_a_failed_run_leaves_the_previous_state_whole(
    shop: Workspace,
    monkeypatch: pytest.MonkeyPatch,
    crash: Callable[[pytest.MonkeyPatch], None],
    failed_stage: str,
) -> None:
    shop.import_tables(NEXT_DAY_ORDERS)
    before, pointers = _state(shop), _pointers(shop)
    crash(monkeypatch)
    with pytest.raises(RunError, match="disk full"):
        shop.run(NEXT)
    assert _pointers(shop) == pointers
    assert _state(shop) == before
    last = shop.runs()[0]
    assert (last["day"], last["status"]) == (NEXT, "failed")
    assert "disk full" in last["error"]
    stages = {s["stage"]: s["status"] for s in last["stages"]}
    assert stages[failed_stage] == "failed"
    assert "commit" not in stages
    assert shop.current_day() == DAY

    monkeypatch.undo()  # the next run picks up where the failed one could not
    assert shop.run(NEXT).joined == {"repeaters": 1, "one-order": 1}
    assert shop.runs()[0]["status"] == "succeeded"
    assert _members(shop, "one-order", NEXT) == ["c10"]


def test_a_second_holder_is_told_who_holds_the_workspace(shop: Workspace) -> None:
    before, runs = _state(shop), len(shop.runs())
    with shop.lock("segments add other"):
        with pytest.raises(LockHeldError) as caught:
            shop.run(NEXT)
        message = caught.value.message
        assert f"process {os.getpid()}" in message
        assert "`segments add other`" in message
        with pytest.raises(LockHeldError):
            shop.add_segment("later", "number_of_orders >= 3")
    assert len(shop.runs()) == runs  # refused before anything was recorded
    assert _state(shop) == before
    assert shop.run(NEXT).status == "succeeded"  # released


def test_a_failed_run_keeps_its_error_to_show_in_other_languages(
    shop: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    _crash_in_metrics(monkeypatch)
    with pytest.raises(RunError):
        shop.run(NEXT)
    last = shop.runs()[0]
    kept = stored_error(last)
    assert kept is not None and kept.code == last["error_code"] == "run_failed"
    assert (kept.template, kept.params) == (
        "The run for {day} failed: {detail}",
        {"day": NEXT.isoformat(), "detail": "OSError('disk full')"},
    )
    assert str(kept) == f"The run for {NEXT} failed: OSError('disk full')"


def test_a_run_that_died_is_marked_interrupted_when_the_next_starts(shop: Workspace) -> None:
    with shop.state.begin() as conn:  # a run whose process was killed: still "running"
        conn.execute(schema.runs.insert().values(
            day=DAY, started_at=utcnow(), status="running", holder="gone"))
    shop.run(DAY)
    died = shop.runs()[1]
    assert (died["status"], died["error"]) == (
        "failed", "interrupted (process ended during the run)")
    kept = stored_error(died)
    assert kept is not None and (kept.code, kept.params) == ("interrupted", {})
    assert kept.template == "interrupted (process ended during the run)"
