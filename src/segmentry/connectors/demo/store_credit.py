"""The demo store's store credit: accounts and transactions as a Shopify sync would read them.

About one customer in twelve of those who existed 180 days before the end date was given store
credit (JPY) on a random day of those 180 days: 500 to 3,000 yen, expiring 90 days later for
two thirds of them (never for the rest). Half of those spent some of it 1 to 30 days later (a
debit, if that day is not past the end). A credit whose expiry day has passed with an amount
left ends with an expiration transaction. Each account's balance is the balance after its
latest transaction. Rows are in the ``store_credit_accounts`` and
``store_credit_transactions`` ledger columns (without the local dates). A random stream of its
own, so the rest of the store does not change with it. Same seed, same credit.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentry.ledger.store import arrow_schema

__all__ = ["store_credit_tables"]

_GIVEN, _EXPIRING, _SPENT = 1 / 12, 2 / 3, 0.5
_DAYS, _VALID_DAYS = 180, 90
_DAY_US = 86_400_000_000


def store_credit_tables(seed: int, shop_id: str, customers: pa.Table,
                        end_date: dt.date) -> tuple[pa.Table, pa.Table]:
    """The store's ``store_credit_accounts`` and ``store_credit_transactions``."""
    rng = np.random.default_rng((seed, 0x5C))
    end = dt.datetime.combine(end_date, dt.time())
    end_us = int((end - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))
    start_us = end_us - _DAYS * _DAY_US
    created = pc.cast(customers.column("created_at"), pa.int64()).to_numpy(zero_copy_only=False)
    ids = np.asarray(customers.column("customer_id").to_pylist(), dtype=object)
    who = ids[(created < start_us) & (rng.random(ids.size) < _GIVEN)]
    n = who.size
    at = start_us + rng.integers(0, _DAYS * _DAY_US, n)
    amount = rng.integers(5, 31, n) * 100
    expiring = rng.random(n) < _EXPIRING
    spend = (rng.random(n) < _SPENT) & (at + 30 * _DAY_US < end_us)
    spent = np.where(spend, (amount * rng.uniform(0.2, 1.0, n)).astype(np.int64), 0)
    spent_at = at + rng.integers(1, 31, n) * _DAY_US
    accounts: list[dict[str, Any]] = []
    moves: list[dict[str, Any]] = []
    for i, customer in enumerate(who):
        account = str(8_100_000_001 + i)
        expires = int(at[i]) + _VALID_DAYS * _DAY_US if expiring[i] else None
        left = int(amount[i] - spent[i])
        moves.append(_move(shop_id, f"{account}1", account, customer, "credit", int(at[i]),
                           amount[i], amount[i], expires, left))
        balance = int(amount[i])
        if spent[i]:
            balance -= int(spent[i])
            moves.append(_move(shop_id, f"{account}2", account, customer, "debit",
                               int(spent_at[i]), -spent[i], balance))
        if expires is not None and expires < end_us and left > 0:
            balance = 0
            moves.append(_move(shop_id, f"{account}-expiration", account, customer,
                               "expiration", expires, -left, 0))
        accounts.append({"shop_id": shop_id, "account_id": account, "customer_id": customer,
                         "currency": "JPY", "balance": Decimal(balance), "updated_at": end})
    return (
        pa.Table.from_pylist(accounts, schema=arrow_schema("store_credit_accounts",
                                                           local_dates=False)),
        pa.Table.from_pylist(moves, schema=arrow_schema("store_credit_transactions",
                                                        local_dates=False)),
    )


def _move(shop_id: str, key: str, account: str, customer: str, kind: str, at_us: int,
          amount: Any, after: Any, expires_us: int | None = None,
          left: int | None = None) -> dict[str, Any]:
    epoch = dt.datetime(1970, 1, 1)
    return {
        "shop_id": shop_id, "transaction_id": key, "account_id": account,
        "customer_id": customer, "kind": kind,
        "created_at": epoch + dt.timedelta(microseconds=at_us),
        "amount": Decimal(int(amount)), "balance_after": Decimal(int(after)),
        "expires_at": epoch + dt.timedelta(microseconds=expires_us)
        if expires_us is not None else None,
        "remaining": Decimal(left) if left is not None else None,
    }
