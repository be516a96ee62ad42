"""segmentry's own sources as a plug-in (:mod:`segmentry.app.plugins`): the ``[[sources]]``
kinds of :func:`segmentry.connectors.read_source`, and Shopify's queued webhooks applied before
the daily run reads them (a run never misses a received delivery). A Shopify API version near
or past the end of its support is noted there too, so the run's record (``segmentry runs``, the
Runs page) carries the warning."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from segmentry.app.plugins import hookimpl
from segmentry.connectors import SOURCE_KINDS, read_source
from segmentry.connectors.shopify.sync import version_warning
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
    notes = [apply_queued(workspace)]
    if any(source.kind == "shopify" for source in workspace.settings.sources):
        notes.append(str(version_warning(workspace) or ""))
    return "; ".join(note for note in notes if note) or None
