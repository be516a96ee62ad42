"""The ledger writer's removals: deleting a customer, clearing a customer's personal columns,
emptying a shop. Like :func:`segmentry.ledger.store.write_batch`, each is one transaction and
queues the customers whose facts must be rebuilt, so nothing else writes the ledger's rows.

>>> from segmentry.engine import connect
>>> from segmentry.ledger.store import STALE_CUSTOMERS, ensure_ledger
>>> con = connect("duckdb://")
>>> ensure_ledger(con)
>>> delete_customer(con, "shop", "c1", dt.datetime(2026, 12, 1))
>>> con.table(STALE_CUSTOMERS).to_pyarrow().to_pylist()
[{'shop_id': 'shop', 'customer_id': 'c1', 'order_id': None}]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmentry.engine import execute, transaction
from segmentry.ledger.schema import TABLES
from segmentry.ledger.store import STALE_CUSTOMERS, ensure_ledger, queue_everyone, remember_deletion

__all__ = ["PERSONAL_COLUMNS", "clear_personal_data", "delete_customer", "delete_shop"]

# The ledger's columns that identify a person (table ``customers``).
PERSONAL_COLUMNS = ("email", "phone", "first_name", "last_name", "city", "region", "country",
                    "line_user_id")


def delete_customer(con: BaseBackend, shop_id: str, customer_id: str, at: dt.datetime) -> None:
    """Delete the customer's row, tag history, events, store credit and LINE identity (their
    orders stay, as the source keeps them), remember the deletion at ``at`` so that an older
    update does not bring them back, and queue their facts."""
    ensure_ledger(con)
    with transaction(con):
        for name in ("customers", "customer_tag_history", "customer_events",
                     "store_credit_accounts", "store_credit_transactions"):
            execute(con, sge.delete(sg.table(name, quoted=True),
                                    where=_customer(shop_id, customer_id)))
        _forget_line_identity(con, shop_id, customer_id)
        remember_deletion(con, shop_id, customer_id, at)
        _queue(con, shop_id, [customer_id])


def clear_personal_data(con: BaseBackend, shop_id: str, customer_id: str) -> None:
    """Set the customer's :data:`PERSONAL_COLUMNS` to NULL (an erasure), forget their LINE
    identity (``line_events``) and queue their facts."""
    ensure_ledger(con)
    update = sge.update(
        sg.table("customers", quoted=True),
        {sg.column(c, quoted=True): sge.Null() for c in PERSONAL_COLUMNS},
        where=_customer(shop_id, customer_id),
    )
    with transaction(con):
        execute(con, update)
        _forget_line_identity(con, shop_id, customer_id)
        _queue(con, shop_id, [customer_id])


def delete_shop(con: BaseBackend, shop_id: str) -> None:
    """Delete every ledger row of the shop; every customer's facts are rebuilt."""
    ensure_ledger(con)
    shop = sg.column("shop_id", quoted=True).eq(sge.convert(shop_id))
    with transaction(con):
        for name in TABLES:
            execute(con, sge.delete(sg.table(name, quoted=True), where=shop))
        queue_everyone(con)


def _customer(shop_id: str, customer_id: str) -> sge.Expression:
    shop = sg.column("shop_id", quoted=True).eq(sge.convert(shop_id))
    return shop.and_(sg.column("customer_id", quoted=True).eq(sge.convert(customer_id)))


def _forget_line_identity(con: BaseBackend, shop_id: str, customer_id: str) -> None:
    """Delete the customer's LINE events and every event of a LINE user ever linked to them
    (its follows and blocks name the person too)."""
    shop = sg.column("shop_id", quoted=True).eq(sge.convert(shop_id))
    theirs = sg.select("line_user_id").from_(sg.table("line_events", quoted=True)).where(
        _customer(shop_id, customer_id))
    users = sg.column("line_user_id", quoted=True).isin(query=theirs)
    where = shop.and_(sg.column("customer_id", quoted=True).eq(sge.convert(customer_id))
                      .or_(users))
    execute(con, sge.delete(sg.table("line_events", quoted=True), where=where))


def _queue(con: BaseBackend, shop_id: str, customer_ids: Iterable[str]) -> None:
    ids = list(customer_ids)
    con.insert(STALE_CUSTOMERS, pa.table({
        "shop_id": pa.array([shop_id] * len(ids), pa.string()),
        "customer_id": pa.array(ids, pa.string()),
        "order_id": pa.array([None] * len(ids), pa.string()),
    }))
