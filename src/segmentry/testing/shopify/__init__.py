"""A faithful fake of Shopify's Admin GraphQL API, served over real HTTP on loopback.

Tests, the benchmark and ``segmentry demo --with-fake-shopify`` use it; so can anyone who wants
to try segmentry's Shopify features without a store::

    from segmentry.testing.shopify import FakeShopify
    with FakeShopify(restore_rate=100).seed(tables) as shop:
        print(shop.graphql_url(), shop.token)

See :mod:`segmentry.testing.shopify.server` for what it implements.
"""

from segmentry.testing.shopify.cost import LeakyBucket
from segmentry.testing.shopify.data import FakeData, gid, legacy_id
from segmentry.testing.shopify.server import ALL_SCOPES, FakeShopify

__all__ = ["ALL_SCOPES", "FakeData", "FakeShopify", "LeakyBucket", "gid", "legacy_id"]
