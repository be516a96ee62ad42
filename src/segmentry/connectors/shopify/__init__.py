"""The Shopify connector: Admin GraphQL API ingest, webhooks, tag sync and Shopify segments.

- :mod:`.client`: the HTTP client (pacing by the cost budget, retries, clear errors);
- :mod:`.scopes`: token scopes and where the token is kept;
- :mod:`.backfill` / :mod:`.incremental` / :mod:`.sync`: reading the store into the ledger;
- :mod:`.webhooks`: receiving Shopify's webhooks (HMAC, dedupe, privacy topics);
- :mod:`.tags`: pushing segment membership to Shopify as customer tags;
- :mod:`.segments`: Shopify segments on those tags, and Shopify queries for our segments.

The user's guide is docs/shopify.md.
"""

from segmentry.connectors.shopify.client import API_VERSION, ShopifyClient
from segmentry.connectors.shopify.sync import SyncReport, connect_client, sync_store

__all__ = ["API_VERSION", "ShopifyClient", "SyncReport", "connect_client", "sync_store"]
