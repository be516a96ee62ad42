"""Unsubscriptions made through segmentry's links, written back to Shopify as the customer's
e-mail marketing consent (``customerEmailMarketingConsentUpdate``, ``UNSUBSCRIBED``), so Shopify,
its other apps and the next sync agree with the customer.

The ``unsubscriptions`` table is the queue: a row not yet written back is sent, and marked
written back once Shopify confirms it. The web app runs :func:`write_back` right after a
customer unsubscribes; the daily run retries what is left (see :mod:`.plugin`). A row Shopify
refuses (a customer deleted since, or without an e-mail address) stays in the queue and is
counted as ``refused``; nothing is lost when Shopify is down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.sync import connect_client
from segmentry.core.clock import utcnow
from segmentry.store import unsubscriptions
from segmentry.store.unsubscriptions import Unsubscription

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["MUTATION", "WriteBack", "consent_input", "write_back"]

# shopify.dev: customerEmailMarketingConsentUpdate(input: CustomerEmailMarketingConsentUpdateInput!)
MUTATION = """
mutation unsubscribe($input: CustomerEmailMarketingConsentUpdateInput!) {
  customerEmailMarketingConsentUpdate(input: $input) {
    customer { id }
    userErrors { field message code }
  }
}
"""


@dataclass(frozen=True)
class WriteBack:
    """What one pass over the queue did."""

    written: int = 0
    refused: dict[str, str] | None = None  # e-mail → Shopify's message

    def __str__(self) -> str:
        refused = len(self.refused or {})
        return f"{self.written} unsubscriptions written to Shopify, {refused} refused"


def consent_input(entry: Unsubscription) -> dict[str, object]:
    """The mutation's ``input`` for one unsubscription.

    >>> import datetime as dt
    >>> entry = Unsubscription("a@example.jp", "1001", dt.datetime(2026, 12, 6, 9), "one_click",
    ...                        None)
    >>> consent_input(entry)["emailMarketingConsent"]
    {'marketingState': 'UNSUBSCRIBED', 'consentUpdatedAt': '2026-12-06T09:00:00Z'}
    """
    return {
        "customerId": f"gid://shopify/Customer/{entry.customer_id}",
        "emailMarketingConsent": {
            "marketingState": "UNSUBSCRIBED",
            # when the customer withdrew consent (state store time is naive UTC)
            "consentUpdatedAt": entry.at.replace(tzinfo=None).isoformat() + "Z",
        },
    }


def write_back(ws: Context, *, client: ShopifyClient | None = None) -> WriteBack:
    """Send every unsubscription Shopify has not been told of yet; mark those it confirmed.
    Raises :class:`~segmentry.core.errors.ShopifyError` when Shopify cannot be reached (the
    queue is kept for the next attempt)."""
    with ws.state.begin() as conn:
        waiting = unsubscriptions.not_written_back(conn)
    if not waiting:
        return WriteBack()
    if client is None:
        with connect_client(ws, timeout=10.0, max_retries=1) as own:
            return _send_all(ws, own, waiting)
    return _send_all(ws, client, waiting)


def _send_all(ws: Context, client: ShopifyClient, waiting: list[Unsubscription]) -> WriteBack:
    written, refused = 0, {}
    for entry in waiting:
        data = client.execute(MUTATION, {"input": consent_input(entry)}, cost=10)
        errors = data["customerEmailMarketingConsentUpdate"]["userErrors"]
        if errors:
            refused[entry.email] = "; ".join(e["message"] for e in errors)
            continue
        with ws.state.begin() as conn:
            unsubscriptions.mark_written_back(conn, entry.email, at=utcnow())
        written += 1
    return WriteBack(written, refused)
