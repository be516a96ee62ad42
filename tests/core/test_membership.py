"""Recording a day in the membership ledger: every segment at once, idempotent, and the past
kept. Worked out by hand, on each engine.

Before the day 2024-01-10, ledger ``1_a`` has x (open since 01-01), y (01-01 to 01-05) and z
(open since 01-03); ``2_b`` has x (open since 01-02); ``3_c`` has w (open since 01-01) and is
never recorded below, so it must never change.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pytest
from ibis.backends import BaseBackend

from segmentry.analytics.membership import (
    Change,
    ensure_table,
    forget,
    members_as_of,
    membership_keys,
    record_day,
    stretches,
    write_history,
)

D = dt.date
DAY = D(2024, 1, 10)
Stretch = tuple[str, D, D | None]


EVERYONE = ["v", "w", "x", "y", "z"]


def _record(con: BaseBackend, members: dict[str, list[str]], day: D) -> dict[str, Change]:
    """Record ``members`` (ledger → customer ids) on ``day``, as the daily run does: from one
    row per customer with a true/false column per ledger."""
    columns = {key: f"c{i}" for i, key in enumerate(members)}
    wide = ibis.memtable(
        {"customer_id": EVERYONE}
        | {columns[key]: [c in ids for c in EVERYONE] for key, ids in members.items()}
    )
    return record_day(con, wide, columns, day)


@pytest.fixture
def ledger(warehouse: BaseBackend) -> BaseBackend:
    history = {
        ("1", "a"): [("x", D(2024, 1, 1), None), ("y", D(2024, 1, 1), D(2024, 1, 5)),
                     ("z", D(2024, 1, 3), None)],
        ("2", "b"): [("x", D(2024, 1, 2), None)],
        ("3", "c"): [("w", D(2024, 1, 1), None)],
    }
    for (segment, tag), rows in history.items():
        intervals = ibis.memtable(
            [{"customer_id": c, "valid_from": f, "valid_to": t} for c, f, t in rows],
            schema={"customer_id": "string", "valid_from": "date", "valid_to": "date"},
        )
        write_history(warehouse, int(segment), intervals, tag=tag)
    return warehouse


def _rows(con: BaseBackend, key: str) -> list[Stretch]:
    rows = con.to_pyarrow(stretches(con, key)).to_pylist()
    return sorted(
        ((r["customer_id"], r["valid_from"], r["valid_to"]) for r in rows),
        key=lambda r: (r[0], r[1]),
    )


def _on(con: BaseBackend, key: str, day: D) -> list[str]:
    rows = con.to_pyarrow(members_as_of(con, key, day)).to_pylist()
    return sorted(r["customer_id"] for r in rows)


def test_every_ledger_records_its_joins_and_leaves(ledger: BaseBackend) -> None:
    changes = _record(ledger, {"1_a": ["x", "y"], "2_b": ["y"]}, DAY)
    assert changes == {"1_a": Change("1_a", 1, 1), "2_b": Change("2_b", 1, 1)}
    assert _rows(ledger, "1_a") == [
        ("x", D(2024, 1, 1), None),
        ("y", D(2024, 1, 1), D(2024, 1, 5)),
        ("y", DAY, None),
        ("z", D(2024, 1, 3), DAY),
    ]
    assert _rows(ledger, "2_b") == [("x", D(2024, 1, 2), DAY), ("y", DAY, None)]
    assert _rows(ledger, "3_c") == [("w", D(2024, 1, 1), None)]
    assert _on(ledger, "1_a", DAY - dt.timedelta(days=1)) == ["x", "z"]  # the past is kept
    assert _on(ledger, "1_a", DAY) == ["x", "y"]


def test_recording_a_day_again_gives_the_same_ledger(ledger: BaseBackend) -> None:
    _record(ledger, {"1_a": ["x", "y"], "2_b": ["y"]}, DAY)
    once = {key: _rows(ledger, key) for key in ("1_a", "2_b", "3_c")}
    again = _record(ledger, {"1_a": ["x", "y"], "2_b": ["y"]}, DAY)
    assert again == {"1_a": Change("1_a", 1, 1), "2_b": Change("2_b", 1, 1)}
    assert {key: _rows(ledger, key) for key in once} == once


def test_recording_a_day_differently_undoes_the_first_recording(ledger: BaseBackend) -> None:
    _record(ledger, {"1_a": ["x", "y"]}, DAY)
    _record(ledger, {"1_a": ["x", "y"]}, DAY + dt.timedelta(days=1))
    # A new answer for DAY undoes DAY and the day after: y's new stretch goes, z reopens.
    assert _record(ledger, {"1_a": ["x"]}, DAY) == {"1_a": Change("1_a", 0, 1)}
    assert _rows(ledger, "1_a") == [
        ("x", D(2024, 1, 1), None),
        ("y", D(2024, 1, 1), D(2024, 1, 5)),
        ("z", D(2024, 1, 3), DAY),
    ]
    next_day = DAY + dt.timedelta(days=1)
    assert _record(ledger, {"1_a": ["x", "z"]}, next_day) == {
        "1_a": Change("1_a", 1, 0)
    }
    assert _rows(ledger, "1_a")[-1] == ("z", next_day, None)


def test_an_empty_day_closes_every_open_stretch(ledger: BaseBackend) -> None:
    assert _record(ledger, {"2_b": []}, DAY) == {"2_b": Change("2_b", 0, 1)}
    assert _rows(ledger, "2_b") == [("x", D(2024, 1, 2), DAY)]


def test_forgetting_a_ledger_deletes_only_its_rows(ledger: BaseBackend) -> None:
    forget(ledger, ["1_a", None, "9_unknown"])
    assert membership_keys(ledger) == {"2_b", "3_c"}
    assert _rows(ledger, "3_c") == [("w", D(2024, 1, 1), None)]


def test_more_segments_than_one_mask_holds(warehouse: BaseBackend) -> None:
    # 70 ledgers (a mask holds 62): ledger k's members on DAY are the customers c < k % 5.
    keys = [f"{k}_t" for k in range(70)]
    first = _record(warehouse, {key: [] for key in keys}, DAY)
    assert set(first.values()) == {Change(key, 0, 0) for key in keys}
    members = {key: EVERYONE[: k % 5] for k, key in enumerate(keys)}
    changes = _record(warehouse, members, DAY + dt.timedelta(days=1))
    assert changes == {key: Change(key, k % 5, 0) for k, key in enumerate(keys)}
    assert membership_keys(warehouse) == {key for k, key in enumerate(keys) if k % 5}
    assert _on(warehouse, "69_t", DAY + dt.timedelta(days=1)) == ["v", "w", "x", "y"]


def test_the_first_membership_table_replaces_the_old_per_version_tables(
    warehouse: BaseBackend,
) -> None:
    schema = {"customer_id": "string", "valid_from": "date", "valid_to": "date"}
    warehouse.create_table("membership_3_0a1b2c3d4e", schema=schema)
    warehouse.create_table("orders", schema={"order_id": "string"})
    ensure_table(warehouse)
    assert {"membership", "orders"} <= set(warehouse.list_tables())
    assert "membership_3_0a1b2c3d4e" not in warehouse.list_tables()
