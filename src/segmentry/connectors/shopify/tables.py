"""State-store tables of the Shopify connector (defined in :mod:`segmentry.store.schema`, under
the short names the connector's code uses).

- ``high_water_marks``: high-water marks of the incremental sync, per resource;
- ``tag_bindings``: which segment is pushed to Shopify as which customer tag;
- ``managed_tags``: every tag segmentry manages (a tag not listed is never touched);
- ``sync_jobs`` / ``sync_items``: a tag sync's plan, one row per customer write, each marked
  done as Shopify confirms it, so a crashed sync resumes without repeating writes;
- ``audit_log``: every tag change segmentry made (``segmentry sync log``);
- ``webhooks``: received webhooks, by webhook id (deduplication and the work queue: see
  :mod:`segmentry.connectors.shopify.webhook_queue`).
"""

from __future__ import annotations

from segmentry.store.schema import shopify_audit_log as audit_log
from segmentry.store.schema import shopify_managed_tags as managed_tags
from segmentry.store.schema import shopify_sync_items as sync_items
from segmentry.store.schema import shopify_sync_jobs as sync_jobs
from segmentry.store.schema import shopify_sync_state as high_water_marks
from segmentry.store.schema import shopify_tag_bindings as tag_bindings
from segmentry.store.schema import shopify_webhooks as webhooks

__all__ = [
    "audit_log",
    "high_water_marks",
    "managed_tags",
    "sync_items",
    "sync_jobs",
    "tag_bindings",
    "webhooks",
]
