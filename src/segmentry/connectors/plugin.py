"""segmentry's own sources as a plug-in (:mod:`segmentry.app.plugins`): the ``[[sources]]``
kinds of :func:`segmentry.connectors.read_source`, and Shopify's queued webhooks applied before
the daily run reads them (a run never misses a received delivery)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from segmentry.app.plugins import hookimpl
from segmentry.connectors import SOURCE_KINDS, read_source
from segmentry.connectors.shopify.webhooks import apply_queued

if TYPE_CHECKING:
    from segmentry.core.config import SourceSettings
    from segmentry.core.context import Context
    from segmentry.ledger.store import LedgerBatch

__all__ = ["segmentry_before_ingest", "segmentry_read_source", "segmentry_source_kinds"]


@hookimpl
def segmentry_source_kinds() -> Iterable[str]:
    return SOURCE_KINDS


@hookimpl
def segmentry_read_source(source: SourceSettings, workspace: Context) -> LedgerBatch | None:
    if source.kind not in SOURCE_KINDS:
        return None
    return read_source(source, workspace)


@hookimpl
def segmentry_before_ingest(workspace: Context) -> str | None:
    return apply_queued(workspace) or None
