"""A third-party plug-in, as a package outside segmentry would ship it (tests/app/test_plugins.py
installs it with a real entry point, ``[segmentry] acme = acme_segmentry``).

It adds a source kind, ``acme_crm`` (a JSON file of customers with their orders, named by the
source's ``options.file``), and a destination that keeps every run's joins and leaves in
``PUSHED`` (a real one would send them to LINE or an email service).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from segmentry.app.plugins import Destination, RunOutcome, hookimpl
from segmentry.ledger.store import LedgerBatch

KIND = "acme_crm"
PUSHED: list[RunOutcome] = []


@hookimpl
def segmentry_source_kinds() -> list[str]:
    return [KIND]


@hookimpl
def segmentry_read_source(source: Any, workspace: Any) -> LedgerBatch | None:
    if source.kind != KIND:
        return None
    people = json.loads((Path(workspace.folder) / source.options["file"]).read_text("utf-8"))
    shop = workspace.settings.shop.id
    orders = [(person, order) for person in people for order in person["orders"]]
    return LedgerBatch(
        customers=pa.table({
            "shop_id": [shop] * len(people),
            "customer_id": [p["id"] for p in people],
            "email": [p["email"] for p in people],
            "created_at": [dt.datetime.fromisoformat(p["since"]) for p in people],
        }),
        orders=pa.table({
            "shop_id": [shop] * len(orders),
            "order_id": [o["id"] for _, o in orders],
            "customer_id": [p["id"] for p, _ in orders],
            "processed_at": [dt.datetime.fromisoformat(o["at"]) for _, o in orders],  # UTC
            "currency": ["JPY"] * len(orders),
            "total": pa.array([Decimal(o["total"]) for _, o in orders], pa.decimal128(18, 2)),
        }),
    )


@hookimpl
def segmentry_destinations(workspace: Any) -> list[Destination]:
    def push(outcome: RunOutcome) -> str:
        PUSHED.append(outcome)
        return f"sent {sum(outcome.joined.values())} joins"

    return [Destination("acme_push", push)]
