"""Links from a CSV file (``segmentry line link``), kept as dated events: validated rows,
unknown customers reported by line, idempotent re-import, a LINE user moved to another
customer, and what a segment's history and a send see on each day."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from segmentry.analytics.asof import line_events_table
from segmentry.analytics.evaluation import members_on
from segmentry.analytics.line import line_state, line_summary
from segmentry.app.messaging.audience import members_of
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.connectors.line_links import read_line_links
from segmentry.core.errors import DataImportError
from segmentry.ledger.line import (
    LineLink,
    line_event_rows,
    link_line_users,
    record_line_events,
)
from segmentry.ledger.removals import delete_customer
from segmentry.testing.line.platform import user_id

from .conftest import DAY, line_events

U1, U2, U3, U9 = user_id(1), user_id(2), user_id(3), user_id(9)
TZ = "Asia/Tokyo"


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0))  # 12:00 in Tokyo


def _state(ws: Workspace, day: dt.date) -> dict[str, tuple[object, ...]]:
    con = ws.warehouse
    state = line_state(line_events_table(con), con.table("customers"), day)
    return {r["customer_id"]: (r["line_user_id"], r["line_linked"], r["line_blocked"])
            for r in con.to_pyarrow(state).to_pylist()}


def _members(ws: Workspace, query: str, day: dt.date) -> list[str]:
    con = ws.warehouse
    got = con.to_pyarrow(members_on(con, ws.validate(query), day))
    return sorted(got["customer_id"].to_pylist())


def test_a_file_links_by_id_or_email_and_reports_unknown_rows(shop: Workspace,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "links.csv"
    path.write_text(f"customer_id,email,line_user_id\nk1,,{U1}\n,KEN@example.jp,{U2}\n"
                    f"k404,,{U9}\n,nobody@example.jp,{U9}\n", encoding="utf-8")
    read = read_line_links(path, shop.warehouse, shop_id="shop")
    assert read.links == [LineLink("k1", U1), LineLink("k2", U2)]
    assert [(u.line, u.customer) for u in read.unknown] == [(4, "k404"),
                                                            (5, "nobody@example.jp")]
    runner = CliRunner()
    first = runner.invoke(app, ["line", "link", str(path), "-w", str(shop.folder)])
    assert first.exit_code == 0, first.output
    assert "2 read, 2 linked, 0 already linked" in first.output
    assert "links.csv:4: k404" in first.output
    again = runner.invoke(app, ["line", "link", str(path), "-w", str(shop.folder)])
    assert "2 read, 0 linked, 2 already linked" in again.output
    assert sorted(line_events(shop), key=lambda e: str(e["customer_id"])) == [
        {"event": "link", "line_user_id": U1, "customer_id": "k1", "source": "csv"},
        {"event": "link", "line_user_id": U2, "customer_id": "k2", "source": "csv"},
    ]


@pytest.mark.parametrize(("rows", "problems"), [
    (f"k1,U{'0' * 31}\n", ["line 2: line_user_id"]),  # 31 digits
    (f"k1,U{'AB' * 16}\n", ["line 2: line_user_id"]),  # LINE's ids are lower-case hex
    (f",{U1}\n", ["line 2: customer_id"]),
    (f"k1,{U1}\nk2,{U1}\n", ["line 3: line_user_id"]),  # one LINE user, two customers
    (f"k1,{U1}\nk1,{U2}\n", ["line 3: line_user_id"]),  # one customer, two LINE users
])
def test_a_malformed_row_refuses_the_file(shop: Workspace, tmp_path: Path, rows: str,
                                          problems: list[str]) -> None:
    path = tmp_path / "links.csv"
    path.write_text("customer_id,line_user_id\n" + rows, encoding="utf-8")
    with pytest.raises(DataImportError) as caught:
        read_line_links(path, shop.warehouse, shop_id="shop")
    found = [f"line {b.line}: {b.column}" for b in caught.value.bad_rows]
    assert found == problems
    assert line_events(shop) == []


def test_state_on_each_day_follows_the_events(shop: Workspace) -> None:
    """Hand-worked: U1 → k1 on 11-02; U1 blocks 11-05, follows again 11-08; U1 moves to k2 on
    11-10; k3 has only its column (U_3), which blocks on 11-06; U9 follows, nobody's."""
    con, d = shop.warehouse, dt.date
    link_line_users(con, "shop", [LineLink("k1", U1)], source="csv", at=_noon(d(2026, 11, 2)),
                    tz=TZ)
    record_line_events(con, _follows([("w1", U1, "unfollow", d(2026, 11, 5)),
                                      ("w2", U3, "unfollow", d(2026, 11, 6)),
                                      ("w3", U1, "follow", d(2026, 11, 8)),
                                      ("w4", U9, "follow", d(2026, 11, 9))]), tz=TZ)
    report = link_line_users(con, "shop", [LineLink("k2", U1)], source="csv",
                             at=_noon(d(2026, 11, 10)), tz=TZ)
    assert (report.linked, report.unchanged) == (1, 0)
    expected = {  # day → (linked, blocked)
        d(2026, 11, 1): (["k3"], []),
        d(2026, 11, 2): (["k1", "k3"], []),
        d(2026, 11, 5): (["k1", "k3"], ["k1"]),
        d(2026, 11, 6): (["k1", "k3"], ["k1", "k3"]),
        d(2026, 11, 8): (["k1", "k3"], ["k3"]),
        d(2026, 11, 10): (["k2", "k3"], ["k3"]),
    }
    for day, (linked, blocked) in expected.items():
        assert _members(shop, "line_linked = true", day) == linked, day
        assert _members(shop, "line_blocked = true", day) == blocked, day
    assert _state(shop, d(2026, 11, 10))["k2"] == (U1, True, False)
    assert _state(shop, d(2026, 11, 10))["k1"] == (None, False, False)
    summary = line_summary(con, d(2026, 11, 10))
    assert (summary.linked, summary.blocked, summary.unlinked_followers) == (2, 1, 1)

    # the stored history of a segment agrees with the day-by-day answers
    shop.add_segment("reachable", "line_linked = true AND line_blocked = false")
    reachable = {d(2026, 11, 1): ["k3"], d(2026, 11, 2): ["k1", "k3"], d(2026, 11, 5): ["k3"],
                 d(2026, 11, 6): [], d(2026, 11, 8): ["k1"], d(2026, 11, 10): ["k2"],
                 DAY: ["k2"]}
    for day, who in reachable.items():
        got = shop.members("reachable", as_of=day)["customer_id"].to_pylist()
        assert sorted(got) == who, day


def test_a_send_sees_the_days_link_and_block(shop: Workspace) -> None:
    con, d = shop.warehouse, dt.date
    link_line_users(con, "shop", [LineLink("k1", U1), LineLink("k2", U2)], source="csv",
                    at=_noon(d(2026, 11, 2)), tz=TZ)
    record_line_events(con, _follows([("w1", U2, "unfollow", d(2026, 11, 20))]), tz=TZ)
    shop.add_segment("everyone", "customer_added_date <= 2026-10-01")
    key = shop.segment("everyone").membership_key
    assert key is not None
    seen = {m.recipient.customer_id: (m.line_user_id, m.line_blocked)
            for m in members_of(con, key, DAY)}
    assert seen == {"k1": (U1, False), "k2": (U2, True), "k3": (U3, False), "k4": (None, False)}


def test_a_metafield_unlinks_only_its_own_links(shop: Workspace) -> None:
    con, d = shop.warehouse, dt.date
    link_line_users(con, "shop", [LineLink("k1", U1)], source="csv", at=_noon(d(2026, 11, 2)),
                    tz=TZ)
    link_line_users(con, "shop", [LineLink("k2", U2)], source="metafield",
                    at=_noon(d(2026, 11, 3)), tz=TZ)
    emptied = [LineLink("k1", None), LineLink("k2", None)]
    report = link_line_users(con, "shop", emptied, source="metafield",
                             at=_noon(d(2026, 11, 4)), tz=TZ, unlink_only_own=True)
    assert (report.unlinked, report.unchanged) == (1, 1)
    assert _members(shop, "line_linked = true", d(2026, 11, 3)) == ["k1", "k2", "k3"]
    assert _members(shop, "line_linked = true", d(2026, 11, 4)) == ["k1", "k3"]


def test_deleting_a_customer_forgets_their_line_identity(shop: Workspace) -> None:
    con, d = shop.warehouse, dt.date
    link_line_users(con, "shop", [LineLink("k1", U1), LineLink("k2", U2)], source="csv",
                    at=_noon(d(2026, 11, 2)), tz=TZ)
    record_line_events(con, _follows([("w1", U1, "unfollow", d(2026, 11, 5)),
                                      ("w2", U2, "unfollow", d(2026, 11, 5))]), tz=TZ)
    delete_customer(con, "shop", "k1", dt.datetime(2026, 11, 6))
    assert {(e["event"], e["line_user_id"]) for e in line_events(shop)} == {
        ("link", U2), ("unfollow", U2)}


def _follows(rows: list[tuple[str, str, str, dt.date]]) -> pa.Table:
    return line_event_rows("shop", [(i, u, k, _noon(day)) for i, u, k, day in rows],
                           source="webhook")
