"""From Shopify's store credit to ``store_credit_accounts``: the bulk read of the accounts
(ungrouped lines), the pages of a later sync, every transaction read by account id, the
scopes that may be missing, and the fake as strict as Shopify.

The fake serves a three-customer store (Tokyo; every transaction at 12:00 local):

    a  JPY account 11: credit 2000 on 2024-03-01 (expires 2024-05-05, 1500 left), debit 500
       on 2024-04-10 → balance 1500
    b  JPY account 21: credit 1000 on 2024-02-01 (expires 2024-04-15, expired with all of it
       left), the expiration on 04-15 → 0; USD account 22: credit 30 on 2024-04-20 → 30
    c  no store credit
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from graphql import parse

from segmentry.activation.shopify.segments import shopify_query
from segmentry.analytics.evaluation import members_on
from segmentry.analytics.facts import build_facts
from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify import sync_store
from segmentry.connectors.shopify.backfill import bulk_query
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.core.errors import ShopifyError
from segmentry.ledger.removals import delete_customer
from segmentry.testing.shopify import ALL_SCOPES, FakeShopify
from segmentry.testing.shopify.bulk import bulk_query_refusal

D = dt.date
A, B, C = "101", "102", "103"
CREDIT_SCOPES = {"read_store_credit_accounts", "read_store_credit_account_transactions"}


def _noon(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day) + dt.timedelta(hours=3)  # 12:00 Tokyo as naive UTC


def _tables() -> dict[str, pa.Table]:
    customers = [{"customer_id": c, "created_at": _noon("2024-01-10"),
                  "updated_at": _noon("2024-01-10")} for c in (A, B, C)]
    accounts = [
        {"account_id": "11", "customer_id": A, "currency": "JPY", "balance": Decimal(0)},
        {"account_id": "21", "customer_id": B, "currency": "JPY", "balance": Decimal(0)},
        {"account_id": "22", "customer_id": B, "currency": "USD", "balance": Decimal(0)},
    ]
    moves = [
        {"transaction_id": "111", "account_id": "11", "kind": "credit",
         "created_at": _noon("2024-03-01"), "amount": 2000, "balance_after": 2000,
         "expires_at": _noon("2024-05-05"), "remaining": 1500},
        {"transaction_id": "112", "account_id": "11", "kind": "debit",
         "created_at": _noon("2024-04-10"), "amount": -500, "balance_after": 1500},
        {"transaction_id": "211", "account_id": "21", "kind": "credit",
         "created_at": _noon("2024-02-01"), "amount": 1000, "balance_after": 1000,
         "expires_at": _noon("2024-04-15"), "remaining": 1000},
        {"transaction_id": "-", "account_id": "21", "kind": "expiration",
         "created_at": _noon("2024-04-15"), "amount": -1000, "balance_after": 0},
        {"transaction_id": "221", "account_id": "22", "kind": "credit",
         "created_at": _noon("2024-04-20"), "amount": 30, "balance_after": 30,
         "expires_at": None, "remaining": 30},
    ]
    return {"customers": pa.Table.from_pylist(customers),
            "store_credit_accounts": pa.Table.from_pylist(accounts),
            "store_credit_transactions": pa.Table.from_pylist(moves)}


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(timeout_seconds=0.5) as fake:
        fake.seed(_tables())
        yield fake


def _connected(tmp_path: Path, shop: FakeShopify, scopes: frozenset[str] = ALL_SCOPES
               ) -> Workspace:
    token = "shpat_credit_" + str(len(scopes))
    shop.tokens[token] = scopes
    workspace = Workspace.create(tmp_path / "ws", shop_id="shop")
    connect_workspace(workspace, shop.shop, token, endpoint=shop.url)
    return workspace


@pytest.fixture
def ws(tmp_path: Path, shop: FakeShopify) -> Iterator[Workspace]:
    workspace = _connected(tmp_path, shop)
    try:
        yield workspace
    finally:
        workspace.close()


def _members(ws: Workspace, query: str, day: dt.date) -> list[str]:
    build_facts(ws.warehouse, subtract_refunds=True)
    got = ws.warehouse.to_pyarrow(members_on(ws.warehouse, ws.validate(query), day))
    return sorted(got["customer_id"].to_pylist())


def _accounts(ws: Workspace) -> list[tuple[str, str, str, Decimal]]:
    table = ws.warehouse.table("store_credit_accounts").order_by("account_id")
    rows = ws.warehouse.to_pyarrow(table).to_pylist()
    return [(r["account_id"], r["customer_id"], r["currency"], r["balance"]) for r in rows]


def _moves(ws: Workspace) -> list[tuple[object, ...]]:
    table = ws.warehouse.table("store_credit_transactions").order_by("created_at")
    rows = ws.warehouse.to_pyarrow(table).to_pylist()
    return [(r["account_id"], r["customer_id"], r["kind"], r["created_on"], r["balance_after"],
             r["expires_on"], r["remaining"]) for r in rows]


def test_the_backfill_reads_accounts_and_transactions(ws: Workspace) -> None:
    report = sync_store(ws)
    assert report.mode["storeCreditAccounts"] == "bulk"
    assert report.warnings == []
    # 3 accounts + 5 transactions; balances as Shopify gives them now
    assert report.rows["storeCreditAccounts"] == 8
    assert _accounts(ws) == [("11", A, "JPY", Decimal("1500.00")),
                             ("21", B, "JPY", Decimal("0.00")),
                             ("22", B, "USD", Decimal("30.00"))]
    assert _moves(ws) == [
        ("21", B, "credit", D(2024, 2, 1), Decimal("1000.00"), D(2024, 4, 15),
         Decimal("1000.00")),
        ("11", A, "credit", D(2024, 3, 1), Decimal("2000.00"), D(2024, 5, 5),
         Decimal("1500.00")),
        ("11", A, "debit", D(2024, 4, 10), Decimal("1500.00"), None, None),
        ("21", B, "expiration", D(2024, 4, 15), Decimal("0.00"), None, None),
        ("22", B, "credit", D(2024, 4, 20), Decimal("30.00"), None, Decimal("30.00")),
    ]
    # as of 04-30: a 1500 (expiring 05-05), b 0 JPY and 30 USD (last credit 04-20)
    day = D(2024, 4, 30)
    assert _members(ws, "store_credit_accounts MATCHES (balance > 0)", day) == [A, B]
    assert _members(ws, "store_credit_accounts MATCHES (currency = 'JPY', balance > 0)",
                    day) == [A]
    assert _members(ws, "store_credit_accounts MATCHES (next_expiry_date <= +7d)", day) == [A]
    assert _members(ws, "store_credit_accounts MATCHES (last_credit_date >= -14d)", day) == [B]
    assert _members(ws, "store_credit_accounts NOT MATCHES (balance > 0)", day) == [C]
    # a past day sees the balances then: 04-12, b's 1000 has not expired yet
    assert _members(ws, "store_credit_accounts MATCHES (balance >= 1000)", D(2024, 4, 12)) \
        == [A, B]
    assert _members(ws, "store_credit_accounts MATCHES (balance >= 2000)", D(2024, 4, 12)) \
        == []  # a spent 500 on 04-10
    assert _members(ws, "store_credit_accounts MATCHES (next_expiry_date = 2024-04-15)",
                    D(2024, 4, 12)) == [B]


def test_a_later_sync_reads_changes_page_by_page(ws: Workspace, shop: FakeShopify) -> None:
    sync_store(ws)
    # a spends 1000 (the customer itself does not change); c gets a first account and is
    # edited (so its updatedAt moves and the customer pages find the account)
    shop.data.add_store_credit_transaction(
        {"transaction_id": "113", "account_id": "11", "kind": "debit",
         "created_at": _noon("2024-05-01"), "amount": -1000, "balance_after": 500})
    shop.data.add_store_credit_account(
        {"account_id": "31", "customer_id": C, "currency": "JPY", "balance": 0})
    shop.data.add_store_credit_transaction(
        {"transaction_id": "311", "account_id": "31", "kind": "credit",
         "created_at": _noon("2024-05-02"), "amount": 700, "balance_after": 700,
         "expires_at": _noon("2024-06-01"), "remaining": 700})
    shop.data.set_tags(f"gid://shopify/Customer/{C}", ["credit"])
    report = sync_store(ws)
    assert report.mode["storeCreditAccounts"] == "pages"
    assert ("31", C, "JPY", Decimal("700.00")) in _accounts(ws)
    assert ("11", A, "JPY", Decimal("500.00")) in _accounts(ws)
    day = D(2024, 5, 3)
    assert _members(ws, "store_credit_accounts MATCHES (balance >= 700)", day) == [C]
    assert _members(ws, "store_credit_accounts MATCHES (balance = 500)", day) == [A]
    assert _members(ws, "store_credit_accounts MATCHES (balance = 1500)", D(2024, 4, 30)) \
        == [A]  # the past is kept


def test_without_the_scopes_the_rest_of_the_sync_goes_on(
    tmp_path: Path, shop: FakeShopify
) -> None:
    ws = _connected(tmp_path, shop, ALL_SCOPES - CREDIT_SCOPES)
    try:
        report = sync_store(ws)
        assert report.mode["storeCreditAccounts"] == "skipped"
        assert report.rows["customers"] == 3 and report.rows["storeCreditAccounts"] == 0
        (note,) = [str(w) for w in report.warnings]
        assert note == ("Store credit was not read: the access token lacks "
                        "read_store_credit_accounts, read_store_credit_account_transactions; "
                        "store_credit_accounts conditions match no one.")
        assert _members(ws, "store_credit_accounts NOT MATCHES (balance > 0)", D(2024, 4, 30)) \
            == [A, B, C]
    finally:
        ws.close()


def test_accounts_without_the_transactions_scope(tmp_path: Path, shop: FakeShopify) -> None:
    ws = _connected(tmp_path, shop, ALL_SCOPES - {"read_store_credit_account_transactions"})
    try:
        report = sync_store(ws)
        assert report.mode["storeCreditAccounts"] == "bulk"
        assert report.rows["storeCreditAccounts"] == 3  # the accounts only
        assert "lacks read_store_credit_account_transactions" in str(report.warnings[0])
        today = ws.today()  # the shop's day (Tokyo): the balances count from it
        # the balances as read today count from today; no dates without transactions
        assert _members(ws, "store_credit_accounts MATCHES (balance > 0)", today) == [A, B]
        assert _members(ws, "store_credit_accounts MATCHES (balance > 0)", D(2024, 4, 30)) == []
        assert _members(ws, "store_credit_accounts MATCHES (last_credit_date < today)",
                        today) == []
    finally:
        ws.close()


def test_erasing_a_customer_erases_their_store_credit(ws: Workspace) -> None:
    sync_store(ws)
    delete_customer(ws.warehouse, "shop", B, dt.datetime(2030, 1, 1))
    assert [a[1] for a in _accounts(ws)] == [A]
    assert {m[1] for m in _moves(ws)} == {A}


def test_the_fake_is_as_strict_as_shopify(shop: FakeShopify) -> None:
    # The accounts' bulk query is within Shopify's limits; the transactions would be a third
    # level of connections, which Shopify refuses (hence segmentry reads them by account id).
    assert bulk_query_refusal(parse(bulk_query("storeCreditAccounts"))) is None
    too_deep = ("{ customers { edges { node { id storeCreditAccounts { edges { node { id "
                "transactions { edges { node { createdAt } } } } } } } } } }")
    assert bulk_query_refusal(parse(too_deep)) == (
        "Bulk queries can nest connections at most 2 levels deep.")
    shop.tokens["shpat_plain"] = ALL_SCOPES - CREDIT_SCOPES
    query = ("{ customers(first: 1) { nodes { id storeCreditAccounts(first: 1) { nodes { id "
             "} } } } }")
    with ShopifyClient(shop.shop, "shpat_plain", endpoint=shop.url, max_retries=0) as client, \
            pytest.raises(ShopifyError, match="Required access: `read_store_credit_accounts`"):
        client.execute(query)
    # the interface has no id: only credits and debits (Nodes) do, as in Shopify's schema
    with ShopifyClient(shop.shop, shop.token, endpoint=shop.url, max_retries=0) as client, \
            pytest.raises(ShopifyError, match="Cannot query field 'id' on type "
                          "'StoreCreditAccountTransaction'"):
        client.execute('{ storeCreditAccount(id: "gid://shopify/StoreCreditAccount/21") '
                       "{ transactions(first: 5) { nodes { id } } } }")


def test_segment_create_takes_shopifys_syntax(shop: FakeShopify) -> None:
    query = shopify_query("store_credit_accounts(balance: 100) = true AND "
                          "store_credit_accounts MATCHES (next_expiry_date <= 7_days_ago)")
    assert query == ("store_credit_accounts MATCHES (balance = 100) AND "
                     "store_credit_accounts MATCHES (next_expiry_date <= -7d)")
    create = ("mutation c($q: String!) { segmentCreate(name: \"credit\", query: $q) "
              "{ segment { query } userErrors { message } } }")
    with ShopifyClient(shop.shop, shop.token, endpoint=shop.url) as client:
        payload = client.execute(create, {"q": query})["segmentCreate"]
    assert payload == {"segment": {"query": query}, "userErrors": []}
