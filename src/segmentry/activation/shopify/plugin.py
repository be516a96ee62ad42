"""Shopify tag sync as a destination plug-in (:mod:`segmentry.app.plugins`): after a committed
run, every segment bound to a Shopify tag is pushed (:func:`.activate.after_run`), recorded as
the run's ``activate`` stage. Before the ingest, unsubscriptions made through segmentry's links
and not yet in Shopify are written back (:mod:`.consent`), so the sync reads them back. Neither
is offered when the workspace is not connected to Shopify. Campaign steps with a coupon get
their codes from Shopify (:mod:`.coupons`)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from segmentry.activation.shopify.activate import after_run
from segmentry.activation.shopify.consent import write_back
from segmentry.activation.shopify.coupons import ensure_coupons
from segmentry.app.plugins import Destination, RunOutcome, hookimpl
from segmentry.connectors.shopify.sync import connect_client
from segmentry.core.errors import ShopifyError

if TYPE_CHECKING:
    from segmentry.core.context import Context
    from segmentry.store.coupons import Coupon

__all__ = ["segmentry_before_ingest", "segmentry_coupon_codes", "segmentry_destinations"]

log = logging.getLogger("segmentry.activation.shopify")


@hookimpl
def segmentry_before_ingest(workspace: Context) -> str | None:
    if workspace.settings.shopify is None:
        return None
    try:
        done = write_back(workspace)
    except ShopifyError as e:  # the queue waits for the next run; the sync says what is wrong
        log.warning("unsubscriptions not written back to Shopify: %s", e)
        return None
    return str(done) if done.written or done.refused else None


@hookimpl
def segmentry_destinations(workspace: Context) -> list[Destination] | None:
    if workspace.settings.shopify is None:
        return None

    def push(outcome: RunOutcome) -> str:
        return after_run(workspace)

    return [Destination("activate", push)]


@hookimpl
def segmentry_coupon_codes(workspace: Context, campaign: str, step: str, segment: str,
                           coupon: Coupon, customers: list[str], now: dt.datetime
                           ) -> dict[str, str] | None:
    if workspace.settings.shopify is None:
        return None
    with connect_client(workspace) as client:
        issued = ensure_coupons(workspace.state, client, campaign=campaign, step=step,
                                segment=segment, coupon=coupon, customers=customers, now=now)
    for customer, why in sorted(issued.failed.items())[:10]:
        log.warning("no coupon code for customer %s of %s/%s: %s", customer, campaign, step,
                    why)
    return issued.codes
