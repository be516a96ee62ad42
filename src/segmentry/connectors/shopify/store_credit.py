"""Store credit: customers' store credit accounts and their transactions, read from Shopify.

What is read (Admin GraphQL, shopify.dev): ``Customer.storeCreditAccounts`` (a connection of
``StoreCreditAccount``: ``id``, ``balance { amount currencyCode }``; scope
``read_store_credit_accounts``) and each account's ``transactions`` (interface
``StoreCreditAccountTransaction``: ``createdAt``, ``amount``, ``balanceAfterTransaction``; a
``StoreCreditAccountCreditTransaction`` adds ``id``, ``expiresAt`` and ``remainingAmount``, a
``StoreCreditAccountDebitTransaction`` has an ``id``; scope
``read_store_credit_account_transactions``). The segment language's ``store_credit_accounts``
reads them (docs/segment-language.md).

Two passes per sync, as resource ``storeCreditAccounts`` (its own high-water mark, on the
customers' ``updatedAt``):

1. **Accounts.** The first sync (or more changed customers than ``bulk_threshold``) is a bulk
   query ``customers { edges { node { id updatedAt storeCreditAccounts { edges { node … } } } } }``:
   an account is a line of its own whose ``__parentId`` is its customer, anywhere in the file
   (ungrouped output), so each line is mapped alone and no grouping is needed. Later syncs page
   through the customers updated since the mark.
2. **Transactions.** A bulk query may nest connections only two deep, so an account's
   transactions (a third level) are read by account id, ten accounts a request
   (``storeCreditAccount(id:)``), every page of each. The accounts read are those of pass 1
   and, on a later sync, every account the ledger already holds: Shopify does not say that a
   store credit transaction changes the customer's ``updatedAt`` (source not found), so
   known accounts are read again each time; a customer's first account is found when the
   customer changes, or at the next bulk read.

Missing scopes do not fail the sync: without ``read_store_credit_accounts`` nothing is read,
without ``read_store_credit_account_transactions`` only the accounts (their balance as of each
read); either way a warning names the scope (``SyncReport.warnings``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from segmentry.connectors.shopify.scopes import OPTIONAL_SCOPES
from segmentry.core.clock import utcnow
from segmentry.core.errors import ShopifyError, Text
from segmentry.ledger.store import LedgerBatch, conform

if TYPE_CHECKING:
    from segmentry.connectors.shopify.client import ShopifyClient

__all__ = [
    "ACCOUNTS_SCOPE",
    "ACCOUNT_FIELDS",
    "RAW_ACCOUNTS",
    "TRANSACTIONS_SCOPE",
    "account_pages",
    "accounts_batch",
    "missing_scope_note",
    "transactions",
]

ACCOUNTS_SCOPE, TRANSACTIONS_SCOPE = OPTIONAL_SCOPES
ACCOUNT_FIELDS = "id balance { amount currencyCode }"
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
# NOTE: the interface StoreCreditAccountTransaction has no ``id``; credits and debits do (they
# are Nodes), an expiration does not: its key is made from its account, time and kind.
_TRANSACTION_FIELDS = (
    "__typename createdAt amount { amount } balanceAfterTransaction { amount } "
    "... on StoreCreditAccountCreditTransaction { id expiresAt remainingAmount { amount } } "
    "... on StoreCreditAccountDebitTransaction { id }"
)
# NOTE: page sizes under Shopify's 1,000-point single-query cost (a connection costs 2 plus its
# page size times one node; a transaction with its three MoneyV2 objects is 4): 25 customers
# × (1 + 2 + 10 accounts × 2) = 577; 4 accounts × (1 + 2 + 50 transactions × 4) = 812.
_TRANSACTIONS_PAGE = 50
ACCOUNTS_PER_PAGE = 25  # customers per page (each with up to 10 accounts: one per currency)
_ACCOUNTS_QUERY = f"""query page($first: Int!, $cursor: String, $q: String) {{
  customers(first: $first, after: $cursor, query: $q, sortKey: UPDATED_AT) {{
    {_PAGE_INFO} nodes {{ id updatedAt storeCreditAccounts(first: 10) {{
      nodes {{ {ACCOUNT_FIELDS} }} }} }} }} }}"""
_MORE = f"""query more($id: ID!, $cursor: String) {{
  storeCreditAccount(id: $id) {{ id transactions(first: {_TRANSACTIONS_PAGE}, after: $cursor) {{
    {_PAGE_INFO} nodes {{ {_TRANSACTION_FIELDS} }} }} }} }}"""
_ACCOUNTS_PER_REQUEST = 4
_KINDS = {
    "StoreCreditAccountCreditTransaction": "credit",
    "StoreCreditAccountDebitTransaction": "debit",
    "StoreCreditAccountDebitRevertTransaction": "debit_revert",
    "StoreCreditAccountExpirationTransaction": "expiration",
}

_S = pa.string()
_MONEY_V2 = pa.struct([("amount", _S), ("currencyCode", _S)])
# A bulk line: a customer (``id``, ``updatedAt``) or one of its accounts (``__parentId``).
RAW_ACCOUNTS = pa.schema(
    [("id", _S), ("__parentId", _S), ("updatedAt", _S), ("balance", _MONEY_V2)]
)
_TRANSACTIONS = pa.schema(
    [("shop_id", _S), ("transaction_id", _S), ("account_id", _S), ("customer_id", _S),
     ("kind", _S), ("created_at", pa.timestamp("us")), ("amount", pa.decimal128(18, 2)),
     ("balance_after", pa.decimal128(18, 2)), ("expires_at", pa.timestamp("us")),
     ("remaining", pa.decimal128(18, 2))]
)  # fmt: skip


def bulk_query() -> str:
    """The bulk query of the accounts (``{filter}`` as in the other bulk queries)."""
    return ("{ customers{filter} { edges { node { id updatedAt storeCreditAccounts { edges { "
            f"node {{ {ACCOUNT_FIELDS} }} }} }} }} }} }} }}")


def missing_scope_note(granted: set[str]) -> Text | None:
    """What to say when the token lacks a store credit scope, or None.

    >>> print(missing_scope_note({"read_customers"}))
    Store credit was not read: the access token lacks read_store_credit_accounts, \
read_store_credit_account_transactions; store_credit_accounts conditions match no one.
    >>> missing_scope_note({ACCOUNTS_SCOPE, TRANSACTIONS_SCOPE}) is None
    True
    """
    missing = [s for s in (ACCOUNTS_SCOPE, TRANSACTIONS_SCOPE) if s not in granted]
    if not missing:
        return None
    if ACCOUNTS_SCOPE in missing:
        return Text("Store credit was not read: the access token lacks {scopes}; "
                    "store_credit_accounts conditions match no one.",
                    {"scopes": ", ".join(missing)})
    return Text("Store credit transactions were not read: the access token lacks {scopes}; "
                "store_credit_accounts reads only balances, from the day each was read, and "
                "next_expiry_date and last_credit_date match no one.",
                {"scopes": ", ".join(missing)})


def accounts_batch(raw: pa.Table, shop_id: str) -> LedgerBatch:
    """Accounts from raw lines (customers' own lines, without ``__parentId``, are skipped)."""
    accounts = raw.filter(pc.is_valid(raw["__parentId"]))
    if not accounts.num_rows:
        return LedgerBatch()
    n = accounts.num_rows
    balance = accounts["balance"]
    columns = {
        "shop_id": pa.nulls(n, _S).fill_null(shop_id),
        "account_id": _tail(accounts["id"]),
        "customer_id": _tail(accounts["__parentId"]),
        "currency": pc.struct_field(balance, "currencyCode"),
        "balance": pc.cast(pc.struct_field(balance, "amount"), pa.decimal128(18, 2)),
        "updated_at": pa.repeat(pa.scalar(utcnow(), pa.timestamp("us")), n),
    }
    return LedgerBatch(store_credit_accounts=conform("store_credit_accounts", pa.table(columns)))


def account_pages(client: ShopifyClient, search: str | None) -> Iterator[pa.Table]:
    """Raw tables (as a bulk file's lines), one per page of customers updated per ``search``."""
    cursor: str | None = None
    first = ACCOUNTS_PER_PAGE
    while True:
        try:
            data = client.execute(_ACCOUNTS_QUERY, {"first": first, "cursor": cursor,
                                                    "q": search}, cost=first * 23 + 2)
        except ShopifyError as e:
            if e.code != "max_cost_exceeded" or first == 1:
                raise
            first = max(1, first // 2)  # Shopify's single-query cost limit: ask for fewer
            continue
        connection = data["customers"]
        rows: list[dict[str, Any]] = []
        for customer in connection["nodes"]:
            rows.append({"id": customer["id"], "updatedAt": customer["updatedAt"]})
            rows.extend({**account, "__parentId": customer["id"]}
                        for account in customer["storeCreditAccounts"]["nodes"])
        if rows:
            yield pa.Table.from_pylist(rows, schema=RAW_ACCOUNTS)
        info = connection["pageInfo"]
        if not info["hasNextPage"]:
            return
        cursor = info["endCursor"]


def transactions(
    client: ShopifyClient, accounts: Iterable[tuple[str, str]], shop_id: str
) -> Iterator[LedgerBatch]:
    """Every transaction of the ``(account_id, customer_id)`` accounts (numeric ids), a batch
    per request of :data:`_ACCOUNTS_PER_REQUEST` accounts."""
    wanted = list(accounts)
    start, size = 0, _ACCOUNTS_PER_REQUEST
    while start < len(wanted):
        group = wanted[start : start + size]
        try:
            data = _read_accounts(client, [account for account, _ in group])
        except ShopifyError as e:
            if e.code != "max_cost_exceeded" or size == 1:
                raise
            size = max(1, size // 2)  # Shopify's single-query cost limit: fewer accounts
            continue
        start += len(group)
        rows: list[dict[str, Any]] = []
        for i, (account, customer) in enumerate(group):
            found = data.get(f"a{i}")
            if found is None:  # NOTE: gone from Shopify (or never an account): nothing to add
                continue
            nodes = _all_pages(client, found["id"], found["transactions"])
            rows.extend(_transaction_row(node, shop_id, account, customer) for node in nodes)
        if rows:
            table = pa.Table.from_pylist(rows, schema=_TRANSACTIONS)
            yield LedgerBatch(store_credit_transactions=conform("store_credit_transactions",
                                                                table))


def _read_accounts(client: ShopifyClient, accounts: list[str]) -> dict[str, Any]:
    """One request: the first page of transactions of each account (aliases ``a0`` …)."""
    params = ", ".join(f"$id{i}: ID!" for i in range(len(accounts)))
    calls = " ".join(
        f"a{i}: storeCreditAccount(id: $id{i}) {{ id transactions(first: "
        f"{_TRANSACTIONS_PAGE}) {{ {_PAGE_INFO} nodes {{ {_TRANSACTION_FIELDS} }} }} }}"
        for i in range(len(accounts)))
    return client.execute(f"query credits({params}) {{ {calls} }}",
                          {f"id{i}": _gid(account) for i, account in enumerate(accounts)},
                          cost=len(accounts) * (_TRANSACTIONS_PAGE * 4 + 3))


def _all_pages(
    client: ShopifyClient, account: str, connection: dict[str, Any]
) -> list[dict[str, Any]]:
    nodes = list(connection["nodes"])
    info = connection["pageInfo"]
    while info["hasNextPage"]:
        more = client.execute(_MORE, {"id": account, "cursor": info["endCursor"]},
                              cost=_TRANSACTIONS_PAGE * 4 + 3)
        page = (more.get("storeCreditAccount") or {}).get("transactions")
        if page is None:
            raise ShopifyError("Shopify GraphQL error: {detail}", code="graphql",
                               params={"detail": f"store credit account {account} vanished"})
        nodes.extend(page["nodes"])
        info = page["pageInfo"]
    return nodes


def _transaction_row(
    node: dict[str, Any], shop_id: str, account: str, customer: str
) -> dict[str, Any]:
    kind = _KINDS.get(node.get("__typename") or "", "other")
    key = node.get("id")
    transaction_id = (str(key).rsplit("/", 1)[-1] if key
                      else f"{account}-{kind}-{node['createdAt']}")
    return {
        "shop_id": shop_id,
        "transaction_id": transaction_id,
        "account_id": account,
        "customer_id": customer,
        "kind": kind,
        "created_at": _stamp(node["createdAt"]),
        "amount": _amount(node.get("amount")),
        "balance_after": _amount(node.get("balanceAfterTransaction")),
        "expires_at": _stamp(node.get("expiresAt")),
        "remaining": _amount(node.get("remainingAmount")),
    }


def _stamp(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC) \
        .replace(tzinfo=None)


def _amount(money: dict[str, Any] | None) -> Decimal | None:
    return Decimal(str(money["amount"])) if money and money.get("amount") is not None else None


def _gid(account_id: str) -> str:
    return f"gid://shopify/StoreCreditAccount/{account_id}"


def _tail(column: Any) -> Any:
    return pc.replace_substring_regex(column, r"^gid://shopify/[^/]+/", "")

