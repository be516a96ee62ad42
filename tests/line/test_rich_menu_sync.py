"""A rich menu per segment, after each run, against the fake LINE platform (real HTTP, the
official SDK): members get their segment's menu in bulk, the first listed segment wins, leavers
are unlinked, and a day run again makes no call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from messaging.conftest import DAY, shop_tables
from segmentry.activation.line import LineChannel, LineClient
from segmentry.activation.line.rich_menus import sync_rich_menus
from segmentry.app.workspace import Workspace
from segmentry.core.config import LineSettings, RichMenuSettings
from segmentry.ledger.store import arrow_schema
from segmentry.store import rich_menu_links
from segmentry.testing.line import FakeLine, user_id
from webhooks_out.conftest import second_orders

NEXT = DAY + dt.timedelta(days=1)
U1, U2, U5 = user_id(1), user_id(2), user_id(5)
BULK = ("rich_menu_bulk_link", "rich_menu_bulk_unlink")


@pytest.fixture
def line() -> Iterator[FakeLine]:
    with FakeLine(timeout_seconds=0.3) as fake:
        for user in (U1, U2, U5):
            fake.add_user(user)
        yield fake


@pytest.fixture
def shop(tmp_path: Path, line: FakeLine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """The messaging shop (m1, m2, m5 LINE-linked; one order each) with ``repeaters`` and
    ``everyone``; LINE set up, no menus yet."""
    monkeypatch.setenv("SEGMENTRY_LINE_TOKEN", line.token)
    ws = Workspace.create(tmp_path / "shop")
    ws.import_tables(shop_tables())
    ws.run(DAY)
    ws.add_segment("repeaters", "number_of_orders >= 2")
    ws.add_segment("everyone", "number_of_orders >= 1")
    ws.settings.line = LineSettings(endpoint=line.url)
    try:
        yield ws
    finally:
        ws.close()


def _menus(ws: Workspace, **menus: str) -> None:
    assert ws.settings.line is not None
    ws.settings.line.rich_menus = [RichMenuSettings(segment=s, rich_menu_id=m)
                                   for s, m in menus.items()]


def _calls(line: FakeLine) -> list[str]:
    return [r.endpoint for r in line.requests if r.endpoint in BULK]


def test_members_get_their_segments_menu_and_leavers_lose_it(
    shop: Workspace, line: FakeLine
) -> None:
    vip, base = line.add_rich_menu("richmenu-vip1"), line.add_rich_menu("richmenu-base1")
    _menus(shop, repeaters=vip, everyone=base)  # repeaters first: it wins
    report = shop.run(DAY)
    assert (report.stages[-1].stage, report.stages[-1].status, report.stages[-1].detail) == (
        "line_rich_menus", "succeeded", "3 rich menus linked, 0 unlinked")
    assert [line.rich_menu_of(u) for u in (U1, U2, U5)] == [base, base, base]
    assert _calls(line) == ["rich_menu_bulk_link"]

    shop.run(DAY)  # the same day again: nothing to change, no call
    assert _calls(line) == ["rich_menu_bulk_link"]

    shop.import_tables(second_orders("m1", day=NEXT))  # m1 becomes a repeater
    assert shop.run(NEXT).stages[-1].detail == "1 rich menus linked, 0 unlinked"
    assert [line.rich_menu_of(u) for u in (U1, U2, U5)] == [vip, base, base]
    assert set(shop.members("repeaters", as_of=NEXT)["customer_id"].to_pylist()) == {"m1"}

    _menus(shop, repeaters=vip)  # "everyone" has no menu any more: m2 and m5 lose theirs
    assert shop.run(NEXT).stages[-1].detail == "0 rich menus linked, 2 unlinked"
    assert [line.rich_menu_of(u) for u in (U1, U2, U5)] == [vip, None, None]
    assert _calls(line) == ["rich_menu_bulk_link", "rich_menu_bulk_link",
                            "rich_menu_bulk_unlink"]
    with shop.state.connect() as conn:
        assert {u: link.rich_menu_id for u, link in rich_menu_links.links(conn).items()} == {
            U1: vip}


def test_a_user_never_linked_by_segmentry_is_not_touched(shop: Workspace, line: FakeLine) -> None:
    theirs = line.add_rich_menu("richmenu-theirs")
    line.channel.links[U2] = theirs  # linked by someone else; m2 is in no listed segment
    _menus(shop, repeaters=line.add_rich_menu("richmenu-vip2"))
    shop.run(DAY)
    assert line.rich_menu_of(U2) == theirs and _calls(line) == []


def test_a_menu_line_does_not_know_fails_the_stage_and_is_tried_again(
    shop: Workspace, line: FakeLine
) -> None:
    _menus(shop, everyone="richmenu-missing")
    report = shop.run(DAY)
    assert report.status == "succeeded"
    assert report.stages[-1].status == "failed"
    assert "LINE refused to change the rich menu of 3 users (richmenu-missing)" in (
        report.stages[-1].detail)
    with shop.state.connect() as conn:
        assert rich_menu_links.links(conn) == {}
    line.add_rich_menu("richmenu-missing")  # made in LINE afterwards: the next run links
    assert shop.run(DAY).stages[-1].status == "succeeded"
    assert line.rich_menu_of(U1) == "richmenu-missing"


def test_bulk_calls_take_500_users_at_most(tmp_path: Path, line: FakeLine) -> None:
    users = [user_id(1000 + n) for n in range(1001)]
    for user in users:
        line.add_user(user)
    ws = Workspace.create(tmp_path / "big")
    try:
        ws.import_tables(_many_customers(users))
        ws.run(DAY)
        ws.add_segment("everyone", "number_of_orders >= 1")
        menu = line.add_rich_menu("richmenu-all")
        with LineClient(LineChannel(line.token, host=line.url)) as client:
            menus = [RichMenuSettings(segment="everyone", rich_menu_id=menu)]
            report = sync_rich_menus(ws.state, ws.warehouse, client, menus, DAY)
            assert report.linked == 1001
            assert sync_rich_menus(ws.state, ws.warehouse, client, [], DAY).unlinked == 1001
        assert _calls(line) == ["rich_menu_bulk_link"] * 3 + ["rich_menu_bulk_unlink"] * 3
        assert all(line.rich_menu_of(u) is None for u in users)
    finally:
        ws.close()


def _many_customers(users: list[str]) -> dict[str, pa.Table]:
    at = dt.datetime(2026, 11, 20, 3, 0)
    customers = [{"shop_id": "shop", "customer_id": f"c{n}", "line_user_id": u,
                  "created_at": at, "updated_at": at} for n, u in enumerate(users)]
    orders = [{"shop_id": "shop", "order_id": f"o{n}", "customer_id": f"c{n}", "name": f"#{n}",
               "processed_at": at, "currency": "JPY", "subtotal": Decimal(100),
               "discounts": Decimal(0), "shipping": Decimal(0), "tax": Decimal(0),
               "total": Decimal(100), "refunded": Decimal(0)} for n in range(len(users))]
    return {name: pa.Table.from_pylist(rows, schema=pa.schema(
        [arrow_schema(name, local_dates=False).field(c) for c in rows[0]]))
        for name, rows in (("customers", customers), ("orders", orders))}
