"""Campaign coupons against the fake Shopify over real HTTP: a shared code limited to the
segment's Shopify segment and made once however often asked; 600 unique codes added in three
calls of at most 250, polled until done, made once; a command killed between Shopify's answer
and the record is continued without a second discount or code; what Shopify refuses (the fake
checks the inputs as shopify.dev documents them) comes back as a CouponError."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentry.activation.shopify.coupons import CouponError, coupon_code, ensure_coupons
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.store import coupons as store
from segmentry.store import tag_bindings
from segmentry.store.connection import open_state_store
from segmentry.store.coupons import Coupon
from segmentry.testing.shopify import ALL_SCOPES, FakeShopify

NOW = dt.datetime(2026, 12, 6, 9, 0)
SHARED = Coupon("shared", code="WINTER10", percentage=0.1, expires_days=14)
UNIQUE = Coupon("unique", prefix="THANKS", amount="500", expires_days=7)
CUSTOMERS = [str(7_000_000 + n) for n in range(600)]
SRC = Path(__file__).resolve().parents[2] / "src"

_SEGMENT = """mutation s($name: String!, $query: String!) {
  segmentCreate(name: $name, query: $query) { segment { id } userErrors { message } } }"""
_DISCOUNT = """query d($code: String!) { codeDiscountNodeByCode(code: $code) {
  id codeDiscount { ... on DiscountCodeBasic {
    title startsAt endsAt appliesOncePerCustomer customerSegmentIds codesCount { count } } } } }"""


@pytest.fixture
def fake() -> Iterator[FakeShopify]:
    with FakeShopify() as shop:
        shop.data.discounts.delay = 0.2  # the first poll finds the codes not added yet
        yield shop


@pytest.fixture
def client(fake: FakeShopify) -> Iterator[ShopifyClient]:
    with ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as c:
        yield c


@pytest.fixture
def state(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    yield engine
    engine.dispose()


def _pushed(state: sa.Engine, client: ShopifyClient, segment: str = "buyers") -> str:
    """A Shopify segment for ``segment``, noted as segments push notes it."""
    made = client.execute(_SEGMENT, {"name": segment,
                                     "query": "customer_tags CONTAINS 'seg-buyers'"})
    segment_id = made["segmentCreate"]["segment"]["id"]
    with state.begin() as conn:
        tag_bindings.bind(conn, segment, "seg-buyers", NOW)
        tag_bindings.set_shopify_segment(conn, segment, segment_id)
    return str(segment_id)


def _ensure(state: sa.Engine, client: ShopifyClient, coupon: Coupon,
            customers: list[str], step: str = "news") -> object:
    return ensure_coupons(state, client, campaign="winter", step=step, segment="buyers",
                          coupon=coupon, customers=customers, now=NOW)


def test_a_shared_code_is_made_once_for_the_shopify_segment(
    fake: FakeShopify, client: ShopifyClient, state: sa.Engine
) -> None:
    segment_id = _pushed(state, client)
    first = _ensure(state, client, SHARED, CUSTOMERS[:3])
    # the setting's code changed after the discount was made: the one made stays
    second = _ensure(state, client, Coupon("shared", code="OTHER", percentage=0.1),
                     CUSTOMERS[:5])
    assert fake.data.discounts.calls == [("discountCodeBasicCreate", 1)]
    assert first.codes == dict.fromkeys(CUSTOMERS[:3], "WINTER10")  # type: ignore[attr-defined]
    assert second.codes == dict.fromkeys(CUSTOMERS[:5], "WINTER10")  # type: ignore[attr-defined]
    node = client.execute(_DISCOUNT, {"code": "winter10"})["codeDiscountNodeByCode"]
    assert node["id"] == first.discount_id  # type: ignore[attr-defined]
    assert node["codeDiscount"] == {
        "title": "segmentry winter / news", "startsAt": "2026-12-06T09:00:00Z",
        "endsAt": "2026-12-20T09:00:00Z", "appliesOncePerCustomer": True,
        "customerSegmentIds": [segment_id], "codesCount": {"count": 1}}


def test_600_unique_codes_are_added_in_three_calls_once(
    fake: FakeShopify, client: ShopifyClient, state: sa.Engine
) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    issued = ensure_coupons(state, client, campaign="winter", step="news", segment="buyers",
                            coupon=UNIQUE, customers=CUSTOMERS, now=NOW, sleep=sleep)
    assert fake.data.discounts.calls == [("discountCodeBasicCreate", 1),
                                         ("discountRedeemCodeBulkAdd", 250),
                                         ("discountRedeemCodeBulkAdd", 250),
                                         ("discountRedeemCodeBulkAdd", 100)]
    assert slept  # the creations were polled
    with state.connect() as conn:
        expected = {c: row.code for c, row in store.codes(conn, "winter", "news").items()}
    assert issued.codes == expected and issued.failed == {}
    assert sorted(expected) == sorted(CUSTOMERS)
    assert len(set(expected.values())) == 600
    assert all(re.fullmatch(r"THANKS-[A-Z2-7]{10}", code) for code in expected.values())
    # every code is in Shopify, on the one discount (its own code + 600)
    assert fake.data.discounts.all_codes() >= {c.upper() for c in expected.values()}
    node = client.execute(_DISCOUNT, {"code": expected[CUSTOMERS[599]]})
    assert node["codeDiscountNodeByCode"]["id"] == issued.discount_id
    assert node["codeDiscountNodeByCode"]["codeDiscount"]["codesCount"] == {"count": 601}
    again = _ensure(state, client, UNIQUE, CUSTOMERS)
    assert again.codes == expected  # type: ignore[attr-defined]
    assert len(fake.data.discounts.calls) == 4  # nothing asked again


def test_a_code_in_use_by_another_discount_is_recorded_failed(
    fake: FakeShopify, client: ShopifyClient, state: sa.Engine
) -> None:
    taken = coupon_code("THANKS")
    with state.begin() as conn:  # as if a crash came after recording it, before asking for it
        store.begin_codes(conn, "winter", "news", {CUSTOMERS[1]: taken}, at=NOW)
    other = Coupon("shared", code=taken, percentage=0.2)
    _pushed(state, client)
    ensure_coupons(state, client, campaign="other", step="x", segment="buyers", coupon=other,
                   customers=[], now=NOW)
    issued = _ensure(state, client, UNIQUE, CUSTOMERS[:3])
    assert sorted(issued.codes) == [CUSTOMERS[0], CUSTOMERS[2]]  # type: ignore[attr-defined]
    assert list(issued.failed) == [CUSTOMERS[1]]  # type: ignore[attr-defined]
    assert issued.failed[CUSTOMERS[1]].startswith("TAKEN")  # type: ignore[attr-defined]
    with state.begin() as conn:
        rows = store.codes(conn, "winter", "news")
    assert {c: r.status for c, r in rows.items()} == {
        CUSTOMERS[0]: "added", CUSTOMERS[1]: "failed", CUSTOMERS[2]: "added"}


def _crashing(fake: FakeShopify, db: Path, point: str, coupon: Coupon,
              customers: list[str]) -> int:
    """Run ensure_coupons in another process that kills itself at ``point``."""
    script = textwrap.dedent(f"""
        import datetime as dt
        from segmentry.activation.shopify.coupons import ensure_coupons
        from segmentry.connectors.shopify.client import ShopifyClient
        from segmentry.store.connection import open_state_store
        from segmentry.store.coupons import Coupon
        engine = open_state_store({f"sqlite:///{db}"!r})
        with ShopifyClient({fake.shop!r}, {fake.token!r}, endpoint={fake.url!r}) as client:
            ensure_coupons(engine, client, campaign="winter", step="news", segment="buyers",
                           coupon=Coupon(**{coupon.__dict__!r}), customers={customers!r},
                           now=dt.datetime(2026, 12, 6, 9))
    """)
    env = {**os.environ, "SEGMENTRY_CRASH_AT": point, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          timeout=120)
    return done.returncode


def test_a_crash_after_create_before_record_finds_the_code(
    fake: FakeShopify, client: ShopifyClient, state: sa.Engine, tmp_path: Path
) -> None:
    _pushed(state, client)
    code = _crashing(fake, tmp_path / "state.db", "coupon-discount-created", SHARED, [])
    assert code == -9
    with state.begin() as conn:
        begun = store.discount(conn, "winter", "news")
    assert begun is not None and (begun.status, begun.discount_id) == ("creating", None)
    assert fake.data.discounts.calls == [("discountCodeBasicCreate", 1)]
    issued = _ensure(state, client, SHARED, CUSTOMERS[:2])
    assert fake.data.discounts.calls == [("discountCodeBasicCreate", 1)]  # not made twice
    assert issued.discount_id == fake.data.discounts.by_code("WINTER10")["id"]  # type: ignore
    with state.begin() as conn:
        assert store.discount(conn, "winter", "news").status == "created"  # type: ignore


def test_a_crash_after_codes_were_asked_adds_none_twice(
    fake: FakeShopify, client: ShopifyClient, state: sa.Engine, tmp_path: Path
) -> None:
    code = _crashing(fake, tmp_path / "state.db", "coupon-codes-asked", UNIQUE, CUSTOMERS[:300])
    assert code == -9
    assert fake.data.discounts.calls == [("discountCodeBasicCreate", 1),
                                         ("discountRedeemCodeBulkAdd", 250)]
    issued = _ensure(state, client, UNIQUE, CUSTOMERS[:300])
    # the 250 asked before the crash are asked again, Shopify says TAKEN, each is found on our
    # discount; the other 50 are added; no second discount
    assert fake.data.discounts.calls[2:] == [("discountRedeemCodeBulkAdd", 250),
                                             ("discountRedeemCodeBulkAdd", 50)]
    assert len(issued.codes) == 300 and issued.failed == {}  # type: ignore[attr-defined]
    node = fake.data.discounts.by_code(issued.codes[CUSTOMERS[0]])  # type: ignore[attr-defined]
    assert node is not None and len(node["codeDiscount"]["_codes"]) == 301


def test_without_write_discounts_the_error_says_which_scope(
    fake: FakeShopify, state: sa.Engine
) -> None:
    fake.tokens["shpat_plain"] = ALL_SCOPES - {"write_discounts"}
    with ShopifyClient(fake.shop, "shpat_plain", endpoint=fake.url) as plain, \
            pytest.raises(CouponError) as caught:
        _ensure(state, plain, SHARED, CUSTOMERS[:1])
    assert caught.value.code == "coupon_scope" and "write_discounts" in str(caught.value)
    assert fake.data.discounts.calls == []


def test_a_shared_code_needs_the_pushed_segment(
    fake: FakeShopify, client: ShopifyClient, state: sa.Engine
) -> None:
    with pytest.raises(CouponError) as caught:
        _ensure(state, client, SHARED, CUSTOMERS[:1])
    assert caught.value.code == "coupon_segment" and "'buyers'" in str(caught.value)


def test_a_shared_code_taken_by_another_discount_is_refused(
    fake: FakeShopify, client: ShopifyClient, state: sa.Engine
) -> None:
    _pushed(state, client)
    _ensure(state, client, SHARED, [], step="first")
    with pytest.raises(CouponError) as caught:
        _ensure(state, client, Coupon("shared", code="winter10", percentage=0.5), [],
                step="second")
    assert caught.value.code == "coupon_refused"
    assert "TAKEN" in str(caught.value) and "winter10" in str(caught.value)
    # nothing was made: the corrected setting is asked for at the next run
    fixed = _ensure(state, client, Coupon("shared", code="SPRING5", percentage=0.05), ["1"],
                    step="second")
    assert fixed.codes == {"1": "SPRING5"}  # type: ignore[attr-defined]
    assert fake.data.discounts.by_code("spring5") is not None


# ------------------------------------------------------------------ the fake's own checks

_CREATE = """mutation c($d: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $d) {
    codeDiscountNode { id } userErrors { field code } } }"""
_ADD = """mutation a($id: ID!, $codes: [DiscountRedeemCodeInput!]!) {
  discountRedeemCodeBulkAdd(discountId: $id, codes: $codes) {
    bulkCreation { id } userErrors { field code } } }"""


def _basic(**changes: object) -> dict[str, object]:
    value: dict[str, object] = {
        "title": "t", "code": "C1", "startsAt": "2026-12-06T00:00:00Z",
        "customerGets": {"value": {"percentage": 0.1}, "items": {"all": True}},
        "context": {"all": "ALL"}}
    value.update(changes)
    return {k: v for k, v in value.items() if v is not None}


@pytest.mark.parametrize(("changes", "field", "error"), [
    ({"title": None}, ["basicCodeDiscount", "title"], "BLANK"),
    ({"context": None}, ["basicCodeDiscount", "context"], "BLANK"),
    ({"customerSelection": {"all": True}}, ["basicCodeDiscount", "context"],
     "TOO_MANY_ARGUMENTS"),
    ({"endsAt": "2026-12-05T00:00:00Z"}, ["basicCodeDiscount", "endsAt"],
     "END_DATE_BEFORE_START_DATE"),
    ({"customerGets": {"value": {"percentage": 10}, "items": {"all": True}}},
     ["basicCodeDiscount", "customerGets", "value", "percentage"], "VALUE_OUTSIDE_RANGE"),
    ({"context": {"customerSegments": {"add": ["gid://shopify/Segment/1"]}}},
     ["basicCodeDiscount", "context", "customerSegments", "add"], "INVALID"),
    ({"code": "X" * 256}, ["basicCodeDiscount", "code"], "TOO_LONG"),
])
def test_the_fake_refuses_what_shopify_refuses(
    client: ShopifyClient, changes: dict[str, object], field: list[str], error: str
) -> None:
    answer = client.execute(_CREATE, {"d": _basic(**changes)})["discountCodeBasicCreate"]
    assert answer["codeDiscountNode"] is None
    assert {"field": field, "code": error} in answer["userErrors"]


def test_the_fake_takes_250_codes_a_call_and_no_more(client: ShopifyClient) -> None:
    made = client.execute(_CREATE, {"d": _basic()})["discountCodeBasicCreate"]
    discount_id = made["codeDiscountNode"]["id"]
    taken = client.execute(_CREATE, {"d": _basic(code="c1")})["discountCodeBasicCreate"]
    assert taken["userErrors"] == [{"field": ["basicCodeDiscount", "code"], "code": "TAKEN"}]
    over = client.execute(_ADD, {"id": discount_id,
                                 "codes": [{"code": f"K{n}"} for n in range(251)]})
    assert over["discountRedeemCodeBulkAdd"] == {
        "bulkCreation": None, "userErrors": [{"field": ["codes"], "code": "TOO_MANY_ARGUMENTS"}]}
    ok = client.execute(_ADD, {"id": discount_id,
                               "codes": [{"code": f"K{n}"} for n in range(250)]})
    assert ok["discountRedeemCodeBulkAdd"]["userErrors"] == []
