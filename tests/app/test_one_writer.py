"""One writer: outside ``segmentry.ledger`` nothing writes the ledger's tables (issue 10, item
5), so every change queues the customers whose facts must be rebuilt.

Static: every SQL write built in ``src/`` (sqlglot ``delete``/``update``/``insert``, Ibis
``insert``/``create_table``, raw ``DELETE``/``UPDATE``/``INSERT``) that names a ledger table is
inside the ledger package. Dynamic: a customer deleted by a webhook is queued for its facts."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify.webhooks import apply
from segmentry.ledger.schema import TABLES
from segmentry.ledger.store import STALE_CUSTOMERS

SRC = Path(__file__).parents[2] / "src" / "segmentry"
WRITES = re.compile(
    r"""(?:sge\.(?:delete|update|insert)\(\s*sg\.table\(\s*|\.insert\(\s*|create_table\(\s*|"""
    r"""(?:DELETE\s+FROM|UPDATE|INSERT\s+INTO)\s+)["']?(\w+)""",
    re.IGNORECASE,
)


def test_no_module_outside_the_ledger_writes_a_ledger_table() -> None:
    found = []
    for path in SRC.rglob("*.py"):
        # NOTE: the engine builds statements for its callers (its examples name "orders").
        if any(path.is_relative_to(SRC / p) for p in ("ledger", "testing", "engine")):
            continue
        for match in WRITES.finditer(path.read_text()):
            if match[1] in TABLES:
                found.append(f"{path.relative_to(SRC)}: {match[0]}")
    assert found == []


def test_the_pattern_sees_a_write_where_there_is_one() -> None:
    """The check above can fail: the pattern finds the writer's own writes."""
    writer = (SRC / "ledger" / "removals.py").read_text()
    assert {m[1] for m in WRITES.finditer(writer)} & set(TABLES)


def test_a_customer_deleted_by_a_webhook_is_queued_for_their_facts(tmp_path: Path) -> None:
    with Workspace.create(tmp_path / "shop", shop_id="demo") as ws:
        ws.import_tables(generate_store(60, seed=2, end_date=dt.date(2025, 6, 30),
                                        shop_id="demo"))
        ws.run(dt.date(2025, 6, 30))  # the facts are built; the queue is empty
        customer = ws.warehouse.table("customers").customer_id.min().execute()
        assert ws.warehouse.table(STALE_CUSTOMERS).count().execute() == 0

        apply(ws, "customers/delete", {"id": int(customer)}, "w-1")

        queued = ws.warehouse.table(STALE_CUSTOMERS).to_pyarrow().to_pylist()
        assert queued == [{"shop_id": "demo", "customer_id": customer, "order_id": None}]
        left = ws.warehouse.table("customers")
        assert left.filter(left.customer_id == customer).count().execute() == 0
