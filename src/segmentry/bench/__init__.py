"""Benchmarks that print their figures (docs/performance.md): the foundation (import, daily
run, history), the web pages, Shopify tag sync and backfill parsing."""
