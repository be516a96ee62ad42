"""A customer's data, gathered for a data request: what the ledger holds on them
(:mod:`segmentry.ledger.disclosure`), the models' predictions about them (a profile is personal
data too), and what the state store holds (:mod:`segmentry.store.disclosure`: messages with
their addresses and content, unsubscriptions, campaigns, coupon codes, clicks). Shopify's
``customers/data_request`` writes it to ``privacy/``; ``segmentry privacy export`` does so by
hand (docs/operations.md, "Privacy requests").
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from segmentry.analytics.asof import PREDICTIONS, predictions_table
from segmentry.core.clock import utcnow
from segmentry.core.context import Context
from segmentry.ledger import disclosure as ledger
from segmentry.store import disclosure as state

__all__ = ["customer_data", "exports_of", "write_data_request"]


def customer_data(ws: Context, customer_id: str) -> dict[str, Any]:
    """``{"customer_id", "made_at", "ledger": {table: rows}, "predictions": rows,
    "workspace": {table: rows}}`` — every row naming the customer."""
    con = ws.warehouse
    predictions = predictions_table(con)
    predicted: list[dict[str, Any]] = []
    if predictions is not None:
        theirs = predictions.filter(predictions.customer_id == customer_id)
        predicted = con.to_pyarrow(theirs.order_by("fit_date")).to_pylist()
    with ws.state.connect() as conn:
        workspace = state.customer_rows(conn, customer_id)
    return {"customer_id": customer_id, "made_at": utcnow().isoformat(timespec="seconds"),
            "ledger": ledger.customer_rows(con, ws.settings.shop.id, customer_id),
            PREDICTIONS: predicted, "workspace": workspace}


def write_data_request(ws: Context, customer_id: str, name: str,
                       request: dict[str, Any] | None = None,
                       data: dict[str, Any] | None = None) -> Path:
    """Write :func:`customer_data` (``data``, if the caller has it already; with the
    ``request`` that asked, if any) to ``privacy/data_request_<customer>_<name>.json`` in the
    workspace folder; its path."""
    export = {"request": request, **(data or customer_data(ws, customer_id))}
    folder = Path(ws.folder) / "privacy"
    folder.mkdir(exist_ok=True)
    path = folder / f"data_request_{_safe(customer_id)}_{_safe(name)}.json"
    path.write_text(json.dumps(export, default=_plain, ensure_ascii=False, indent=1), "utf-8")
    return path


def exports_of(folder: Path, customer_id: str) -> list[Path]:
    """The data-request exports of the customer in the workspace ``folder``."""
    return sorted((Path(folder) / "privacy").glob(f"data_request_{_safe(customer_id)}_*.json"))


def _safe(part: str) -> str:
    """A file-name part: letters, digits, ``-`` and ``_`` kept, anything else ``_``."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in part)[:100] or "_"


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)
