"""Campaign steps with a Shopify coupon, on each engine, against the fake Shopify over real
HTTP: ``{{ coupon }}`` carries each treated customer's own code (600 recipients: three calls
of at most 250 codes, made once however often the campaign runs), a shared code for the
campaign's Shopify segment is made once, and the redemptions are counted from the orders'
discount codes (hand-computed)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from segmentry.activation.shopify.segments import ensure_shopify_segment
from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.campaigns.coupons import StepRedemptions, redemptions
from segmentry.app.campaigns.definitions import parse_definitions
from segmentry.app.campaigns.report import campaign_report
from segmentry.app.messaging.audience import Member
from segmentry.app.messaging.sending import Outcome, Planned
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.core.errors import CampaignError, MessagingError
from segmentry.store import coupons as coupon_store
from segmentry.store import tag_bindings
from segmentry.store.campaigns import Step
from segmentry.store.coupons import Coupon
from segmentry.store.outbox import OutboxRow, Send
from segmentry.testing.shopify import FakeShopify

from .conftest import DAY, FIRST_ORDERS, Clock, _table

UNIQUE = Coupon("unique", prefix="THANKS", percentage=0.1, expires_days=14)
SHARED = Coupon("shared", code="WINTER10", amount="500", expires_days=7)


class _Recorder:
    """A channel that reaches every customer and keeps each message it delivers."""

    name = "line"
    batch_size = 500
    large_batch: int | None = None
    parallel = 1
    repeat_safe = True
    fields: frozenset[str] = frozenset()

    def __init__(self) -> None:
        self.bodies: dict[str, list[str]] = {}

    def check(self, row: Planned) -> str | None:
        return None

    def values_for(self, member: Member) -> Mapping[str, object]:
        return {}

    def address(self, member: Member, *, transactional: bool) -> tuple[str | None, str | None]:
        return member.recipient.customer_id, None

    def remaining_quota(self) -> int | None:
        return None

    def deliver(self, send: Send, rows: Sequence[OutboxRow], retry_key: str) -> list[Outcome]:
        for row in rows:
            self.bodies.setdefault(row.customer_id, []).append(row.body or "")
        return [Outcome(r.id, "delivered") for r in rows]


def _orders(rows: list[tuple[str, str, dt.datetime, list[str], bool]]) -> dict[str, pa.Table]:
    """Orders (id, customer, when, discount codes, cancelled) of 3,000 yen each."""
    orders = [{"shop_id": "shop", "order_id": o, "customer_id": c, "name": f"#{o}",
               "processed_at": at, "cancelled_at": at if cancelled else None,
               "currency": "JPY", "subtotal": Decimal(3000), "discounts": Decimal(0),
               "shipping": Decimal(0), "tax": Decimal(0), "total": Decimal(3000),
               "refunded": Decimal(0), "source_name": "web", "channel": "direct",
               "discount_codes": codes} for o, c, at, codes, cancelled in rows]
    return {"orders": _table("orders", orders)}


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify() as shop:
        yield shop


def _customers(n: int) -> dict[str, pa.Table]:
    customers = [{"shop_id": "shop", "customer_id": f"b{i:03}", "last_name": "山田",
                  "first_name": f"{i}号", "email": f"b{i}@example.jp",
                  "email_marketing_state": "SUBSCRIBED", "created_at": FIRST_ORDERS,
                  "updated_at": FIRST_ORDERS} for i in range(n)]
    return {"customers": _table("customers", customers),
            **_orders([(f"o{i}", f"b{i:03}", FIRST_ORDERS, [], False) for i in range(n)])}


def _workspace(folder: Path, warehouse_url: str, fake: FakeShopify, n: int) -> Workspace:
    ws = Workspace.create(folder, warehouse_url=warehouse_url)
    ws.import_tables(_customers(n))
    ws.run(DAY)
    ws.add_segment("buyers", "number_of_orders >= 1")
    connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
    return ws


@pytest.fixture
def big(tmp_path: Path, warehouse_url: str, fake: FakeShopify) -> Iterator[Workspace]:
    ws = _workspace(tmp_path / "big", warehouse_url, fake, 600)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def small(tmp_path: Path, warehouse_url: str, fake: FakeShopify) -> Iterator[Workspace]:
    """Four buyers, the segment pushed to Shopify as a segment on its tag."""
    ws = _workspace(tmp_path / "small", warehouse_url, fake, 4)
    with ws.state.begin() as conn:
        tag_bindings.bind(conn, "buyers", "seg-buyers", FIRST_ORDERS)
    with ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as client:
        ensure_shopify_segment(ws, client, "buyers", "seg-buyers")
    try:
        yield ws
    finally:
        ws.close()


def _campaign(key: str, coupon: Coupon, text: str = "{{ coupon }} で10%オフ",
              holdout: float = 0.0) -> CampaignDefinition:
    return CampaignDefinition(key, "buyers", "once",
                              (Step("news", 0, None, ("line",), text, coupon=coupon),),
                              holdout=holdout)


def test_each_of_600_recipients_gets_their_own_code_made_once(
    big: Workspace, fake: FakeShopify
) -> None:
    clock, recorder = Clock(), _Recorder()
    campaigns = Campaigns(big, now=clock, channels={"line": recorder})
    campaigns.add(_campaign("thanks", UNIQUE, holdout=0.1))
    campaigns.run("thanks")
    campaigns.run("thanks")
    treated = {r["customer_id"] for r in campaigns.assignments("thanks").to_pylist()
               if r["group"] == "treated"}
    assert 500 < len(treated) < 600  # about 10 % held out, and they get no code
    with big.state.connect() as conn:
        issued = {c: row.code for c, row in coupon_store.codes(conn, "thanks", "news").items()}
    assert sorted(issued) == sorted(treated)  # every recipient has a code, the held out none
    assert len(set(issued.values())) == len(treated)
    assert recorder.bodies == {c: [f"{issued[c]} で10%オフ"] for c in treated}
    n = len(treated)
    assert fake.data.discounts.calls == [
        ("discountCodeBasicCreate", 1), ("discountRedeemCodeBulkAdd", 250),
        ("discountRedeemCodeBulkAdd", 250), ("discountRedeemCodeBulkAdd", n - 500)]
    # Redemptions: three recipients use their code (one in lower case), one recipient's code
    # is used by a held-out customer, one order is cancelled, one carries another code.
    after = clock.now + dt.timedelta(hours=2)
    users = sorted(treated)[:5]
    held = sorted({f"b{i:03}" for i in range(600)} - treated)[0]
    code = {c: issued[c] for c in users}
    big.import_tables(_orders([
        ("r1", users[0], after, [code[users[0]]], False),
        ("r2", users[1], after, [code[users[1]].lower()], False),
        ("r3", users[2], after, ["OTHER", code[users[2]]], False),
        ("r4", held, after, [code[users[3]]], False),
        ("r5", users[4], after, [code[users[4]]], True),
        ("r6", users[3], after, ["OTHER"], False),
    ]))
    assert redemptions(big, "thanks") == [StepRedemptions(
        "news", "unique", "THANKS", n, 4, tuple(sorted([users[0], users[1], users[2], held])))]


def test_a_shared_code_for_the_shopify_segment_is_made_once(
    small: Workspace, fake: FakeShopify
) -> None:
    clock, recorder = Clock(), _Recorder()
    campaigns = Campaigns(small, now=clock, channels={"line": recorder})
    campaigns.add(_campaign("winter", SHARED, text="{{ coupon }} で500円オフ"))
    campaigns.run("winter")
    campaigns.run("winter")
    assert recorder.bodies == {f"b{i:03}": ["WINTER10 で500円オフ"] for i in range(4)}
    assert fake.data.discounts.calls == [("discountCodeBasicCreate", 1)]
    node = fake.data.discounts.by_code("winter10")
    assert node is not None
    (segment,) = fake.data.objects["segments"]
    assert node["codeDiscount"]["customerSegmentIds"] == [segment]
    made = clock.now
    small.import_tables(_orders([
        ("s1", "b000", made + dt.timedelta(hours=1), ["winter10"], False),
        ("s2", "b001", made + dt.timedelta(hours=1), ["WINTER10"], True),  # cancelled
        ("s3", "b002", made - dt.timedelta(hours=1), ["WINTER10"], False),  # before it was made
        ("s4", "b003", made + dt.timedelta(days=1), ["WINTER10"], False),
        ("s5", "b003", made + dt.timedelta(days=2), ["WINTER10"], False),
    ]))
    assert redemptions(small, "winter") == [
        StepRedemptions("news", "shared", "WINTER10", 4, 3, ("b000", "b003"))]
    # The report shows the same counts beside the lift (JSON: customers as a count).
    shown = campaign_report(small, "winter", now=lambda: made + dt.timedelta(days=30))
    assert shown.to_dict()["coupons"] == [{"step": "news", "kind": "shared", "code": "WINTER10",
                                           "issued": 4, "orders": 3, "customers": 2}]


def test_coupon_settings_are_checked_when_saved(small: Workspace) -> None:
    campaigns = Campaigns(small)
    with pytest.raises(MessagingError) as unknown:
        campaigns.add(CampaignDefinition("c", "buyers", "once", (
            Step("news", 0, None, ("line",), "{{ coupon }}"),)))
    assert unknown.value.code == "template_unknown_field"
    for bad in (Coupon("shared", percentage=0.1), Coupon("unique", prefix="A B", percentage=0.1),
                Coupon("shared", code="X", percentage=0.1, amount="5"),
                Coupon("shared", code="X", percentage=1.5), Coupon("shared", code="X"),
                Coupon("unique", prefix="X", amount="-1"),
                Coupon("shared", code="X", percentage=0.1, expires_days=0),
                Coupon("other", code="X", percentage=0.1)):
        with pytest.raises(CampaignError) as caught:
            campaigns.add(_campaign("c", bad))
        assert caught.value.code == "campaign_coupon", bad


def test_a_coupon_needs_a_workspace_connected_to_shopify(
    tmp_path: Path, warehouse_url: str
) -> None:
    ws = Workspace.create(tmp_path / "plain", warehouse_url=warehouse_url)
    try:
        ws.import_tables(_customers(2))
        ws.run(DAY)
        ws.add_segment("buyers", "number_of_orders >= 1")
        campaigns = Campaigns(ws, now=Clock(), channels={"line": _Recorder()})
        campaigns.add(_campaign("c", UNIQUE))
        with pytest.raises(CampaignError) as caught:
            campaigns.run("c")
        assert caught.value.code == "campaign_coupon"
    finally:
        ws.close()


def test_a_coupon_in_the_toml_file() -> None:
    text = """
[[campaigns]]
key = "w"
segment = "vip"
[[campaigns.steps]]
name = "news"
text = "{{ coupon }}"
[campaigns.steps.coupon]
kind = "unique"
code = "THANKS"
percent_off = 15
expires_after_days = 30
"""
    (definition,) = parse_definitions(text, "Asia/Tokyo")
    assert definition.steps[0].coupon == Coupon("unique", prefix="THANKS", percentage=0.15,
                                                expires_days=30)
    with pytest.raises(CampaignError):
        parse_definitions(text.replace("percent_off", "percent"), "Asia/Tokyo")


def test_the_cli_adds_a_step_with_a_coupon(shop: Workspace) -> None:
    folder = str(shop.folder)
    shop.close()
    result = CliRunner().invoke(app, [
        "campaigns", "add", "spring", "--segment", "buyers", "--text", "{{ coupon }}",
        "--coupon", "shared", "--coupon-code", "SPRING", "--amount-off", "300",
        "--expires-after-days", "5", "-w", folder])
    assert result.exit_code == 0, result.output
    ws = Workspace.open(Path(folder))
    try:
        (step,) = Campaigns(ws).show("spring").steps
    finally:
        ws.close()
    assert step.coupon == Coupon("shared", code="SPRING", amount="300", expires_days=5)
    refused = CliRunner().invoke(app, [
        "campaigns", "add", "summer", "--segment", "buyers", "--text", "{{ coupon }}",
        "--coupon", "shared", "--coupon-code", "SUMMER", "-w", folder])
    assert refused.exit_code != 0 and "percentage or an amount" in refused.output
