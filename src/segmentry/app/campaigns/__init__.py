"""Campaigns: holdout groups and step sequences on top of the outbox (docs/campaigns.md)."""
