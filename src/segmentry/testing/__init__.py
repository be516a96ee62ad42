"""Test doubles shipped with segmentry, so its tests, its docs and ``segmentry demo`` share them.

- :mod:`segmentry.testing.shopify`: a fake Shopify Admin GraphQL server on loopback.
- :mod:`segmentry.testing.line`: a fake LINE Messaging API platform on loopback.
"""
