"""Store credit as of a day: each customer's store credit accounts, what Shopify's
``store_credit_accounts`` function tests (docs/segment-language.md).

Per point (a customer and a day) one row per account the customer held by then:

- ``currency``: the account's currency;
- ``balance``: the balance after the account's latest transaction on or before the day
  (Shopify's ``balanceAfterTransaction``, so a past day sees the balance it had then);
- ``last_credit_on``: the day of the latest credit on or before the day;
- ``next_expiry_on``: the earliest expiry day, on or after the day, of a credit made by then
  with an amount left. NOTE: Shopify gives a credit's ``remainingAmount`` only as it is now
  (for an expired credit: what was left when it expired), not as it was on a past day, so a
  past day counts a credit as having an amount left if it has one now or had one when it
  expired; one spent since is not counted on earlier days either.

An account exists from its first transaction. An account read without its transactions (the
token lacks ``read_store_credit_account_transactions``) has only its balance as last read,
from the day it was read; its dates are NULL.

>>> import datetime as dt
>>> from decimal import Decimal
>>> import ibis
>>> accounts = ibis.memtable({"account_id": ["1"], "customer_id": ["c"], "currency": ["JPY"],
...     "balance": [300.0], "updated_on": [dt.date(2024, 5, 1)]})
>>> moves = ibis.memtable({"transaction_id": ["t1", "t2"], "account_id": ["1", "1"],
...     "customer_id": ["c", "c"], "kind": ["credit", "debit"],
...     "created_at": [dt.datetime(2024, 3, 1, 3), dt.datetime(2024, 3, 9, 3)],
...     "created_on": [dt.date(2024, 3, 1), dt.date(2024, 3, 9)],
...     "balance_after": [500.0, 300.0], "remaining": [300.0, None],
...     "expires_on": [dt.date(2024, 6, 30), None]})
>>> row = accounts_as_of(accounts, moves, dt.date(2024, 3, 5)).to_pyarrow().to_pylist()[0]
>>> row["balance"], row["last_credit_on"], row["next_expiry_on"]
(Decimal('500.00'), datetime.date(2024, 3, 1), datetime.date(2024, 6, 30))
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from segmentry.analytics.asof import Points

__all__ = ["accounts_as_of", "change_days"]


def accounts_as_of(
    accounts: ir.Table, transactions: ir.Table | None, points: ir.Table | dt.date
) -> ir.Table:
    """``(customer_id, day, account_id, currency, balance, last_credit_on, next_expiry_on)``
    per point and account (see the module)."""
    where = Points.of(points)
    parts = []
    if transactions is not None:
        parts.append(_from_transactions(accounts, transactions, where))
    parts.append(_read_only(accounts, transactions, where))
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _from_transactions(accounts: ir.Table, moves: ir.Table, where: Points) -> ir.Table:
    t = moves.select("customer_id", "account_id", "kind", "created_at", "created_on",
                     "balance_after", "remaining", "expires_on", "transaction_id")
    if where.day is not None:
        j = t.filter(t.created_on <= ibis.date(where.day)).mutate(day=ibis.date(where.day))
    else:
        assert where.table is not None
        p = where.table.select("customer_id", "day")
        t = t.rename(t_customer_id="customer_id")
        j = p.join(t, [p.customer_id == t.t_customer_id, t.created_on <= p.day])
        j = j.drop("t_customer_id")
    group = [j.customer_id, j.day, j.account_id]
    latest = ibis.row_number().over(
        group_by=group, order_by=[ibis.desc(j.created_at), ibis.desc(j.transaction_id)])
    credit = j.kind == "credit"
    live = credit & j.expires_on.notnull() & (j.expires_on >= j.day) & (j.remaining > 0)
    dates = j.group_by(group).aggregate(
        last_credit_on=j.created_on.max(where=credit),
        next_expiry_on=j.expires_on.min(where=live),
    )
    balances = j.mutate(n=latest).filter(ibis._.n == 0).select(
        "customer_id", "day", "account_id", balance=ibis._.balance_after)
    a = accounts.select(a_account_id="account_id", currency="currency")
    per = balances.join(dates, ["customer_id", "day", "account_id"])
    per = per.left_join(a, per.account_id == a.a_account_id)
    return per.select("customer_id", "day", "account_id", "currency",
                      per.balance.cast("decimal(18, 2)").name("balance"),
                      "last_credit_on", "next_expiry_on")


def _read_only(accounts: ir.Table, moves: ir.Table | None, where: Points) -> ir.Table:
    """Accounts without any transaction in the ledger: their balance as last read."""
    a = accounts
    if moves is not None:
        m = moves.select(m_account_id="account_id")
        a = a.anti_join(m, a.account_id == m.m_account_id)
    if where.day is not None:
        j = a.filter(a.updated_on <= ibis.date(where.day)).mutate(day=ibis.date(where.day))
    else:
        assert where.table is not None
        p = where.table.select("customer_id", "day")
        a = a.rename(a_customer_id="customer_id")
        j = p.join(a, [p.customer_id == a.a_customer_id, a.updated_on <= p.day])
    none = ibis.null().cast("date")
    return j.select("customer_id", "day", "account_id", "currency",
                    j.balance.cast("decimal(18, 2)").name("balance"),
                    last_credit_on=none, next_expiry_on=none)


def change_days(accounts: ir.Table, moves: ir.Table | None, ahead: set[int]) -> ir.Table:
    """``(customer_id, day)`` on which a customer's store credit can change: a transaction,
    an account read, the day after a credit expires, and ``ahead`` days before an expiry (a
    condition ``next_expiry_date <= +7d`` turns true 7 days before it)."""
    parts = [accounts.select("customer_id", day=accounts.updated_on)]
    if moves is not None:
        parts.append(moves.select("customer_id", day=moves.created_on))
        expiring = moves.filter(moves.expires_on.notnull())
        for k in sorted({-1, 0, *ahead}):
            parts.append(expiring.select(
                "customer_id", day=expiring.expires_on - ibis.interval(days=k)))
    return ibis.union(*parts, distinct=True)
