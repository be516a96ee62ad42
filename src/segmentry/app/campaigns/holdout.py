"""Holdout: which customers a campaign leaves out, and the rows that measure it.

A customer is held out of a campaign when a number drawn from the campaign's key and their
customer id is below the campaign's holdout share. The draw is the first 8 bytes of
SHA-256 of ``"<campaign key>\\x1f<customer id>"`` read as an unsigned big-endian integer and
divided by 2**64: uniform on [0, 1), the same on every day, every rerun and every machine, and
independent between campaigns (another key, another draw). No state is needed to repeat it,
and nobody can move a customer between groups by running the campaign again.

>>> draw("welcome", "1001")
0.8930659940456833
>>> group_of("welcome", "1001", 0.1), group_of("welcome", "1001", 0.95)
('treated', 'holdout')

The measurement reads one row per (campaign, step, customer) that took the step — treated or
held out — with the moment the step was sent, or would have been for the holdout
(:func:`assignments_table`; docs/campaigns.md, "Holdout").
"""

from __future__ import annotations

import hashlib

import pyarrow as pa

from segmentry.core.context import Context
from segmentry.store import campaigns as store
from segmentry.store.campaigns import Campaign

__all__ = ["ASSIGNMENT_SCHEMA", "GROUPS", "assignments_table", "draw", "group_of"]

GROUPS = ("treated", "holdout")

# The rows the measurement reads: see docs/campaigns.md, "Holdout".
ASSIGNMENT_SCHEMA = pa.schema([
    pa.field("campaign", pa.string(), nullable=False),
    pa.field("step", pa.string(), nullable=False),
    pa.field("customer_id", pa.string(), nullable=False),
    pa.field("group", pa.string(), nullable=False),  # treated, holdout
    pa.field("start", pa.timestamp("us"), nullable=False),  # UTC, like the ledger's timestamps
])


def draw(campaign: str, customer_id: str) -> float:
    """The customer's fixed number in [0, 1) for ``campaign`` (its key)."""
    digest = hashlib.sha256(f"{campaign}\x1f{customer_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def group_of(campaign: str, customer_id: str, holdout: float) -> str:
    """``holdout`` when the customer's draw is below the share ``holdout``, else ``treated``."""
    return "holdout" if draw(campaign, customer_id) < holdout else "treated"


def assignments_table(context: Context, campaign: Campaign | None = None,
                      step: str | None = None, *, ordered: bool = True) -> pa.Table:
    """``(campaign, step, customer_id, group, start)`` of every customer who took a step —
    of every campaign, or of ``campaign`` (and one ``step``) — ordered by those columns
    (unless ``ordered`` is false: a measurement needs no order).

    ``group`` is ``treated`` (the message was planned for them; whether the channel reached
    them is the outbox's business) or ``holdout``. ``start`` is when the step was sent, or
    would have been (the same moment for both groups of a cohort; quiet hours included), in
    UTC without a zone like the ledger's ``orders.processed_at``.
    """
    with context.state.begin() as conn:
        columns = store.assignment_columns(conn, None if campaign is None else campaign.id,
                                           step)
    columns["start"] = columns.pop("start_at")
    table = pa.table(columns, schema=ASSIGNMENT_SCHEMA)
    if not ordered:
        return table
    return table.sort_by([(name, "ascending") for name in ("campaign", "step", "customer_id")])
