r"""Plug-ins: the sources a daily run reads and the destinations it pushes to, added by
registering rather than by editing the pipeline.

The pipeline (:mod:`segmentry.app.pipeline`) names no connector and no destination: it calls
the hooks below, and whoever registered an implementation answers. segmentry's own parts are
plug-ins too: :mod:`segmentry.connectors.plugin` reads the ``[[sources]]`` kinds segmentry ships
(``shopify``, ``shopify_csv``, ``generic``, ``parquet``) and applies Shopify's queued webhooks
before the ingest; :mod:`segmentry.activation.shopify.plugin` syncs Shopify tags after the run.
A third-party package adds a source kind or a destination by declaring an entry point in the
``segmentry`` group; see ``docs/plugins.md``.

Hooks (every one is optional for a plug-in):

``segmentry_source_kinds() -> Iterable[str]``
    The ``kind`` values of ``[[sources]]`` the plug-in reads (for the error naming the kinds
    there are when a workspace names one nobody reads).
``segmentry_read_source(source, workspace) -> LedgerBatch | None``
    Read one configured source into canonical ledger tables, or ``None`` when ``source.kind``
    is not the plug-in's; the first answer wins. Strict: a bad row raises
    :class:`~segmentry.core.errors.DataImportError` and the run fails with nothing committed.
``segmentry_before_ingest(workspace) -> str | None``
    Work due before the sources are read (Shopify's queued webhooks); a non-empty note is
    added to the ingest stage's detail.
``segmentry_before_segments(workspace, day) -> str | None``
    Work due after the facts are built and before the segments are evaluated as of ``day``
    (the predictive models' refit, :mod:`segmentry.app.insight.predictive`); a non-empty note
    is the ``models`` stage's detail. Its error fails the run.
``segmentry_channels(workspace) -> Iterable[Channel] | None``
    The ways this plug-in reaches customers (LINE, e-mail) for this workspace, as
    :class:`~segmentry.app.messaging.sending.Channel`\ s (none when not configured).
``segmentry_destinations(workspace) -> Iterable[Destination] | None``
    After-run actions for this workspace (none when, say, the store is not connected). Each
    runs after the run's commit as its own recorded stage; its failure is recorded there and
    never undoes the run.

Why pluggy and not bare entry points: entry points only find code; pluggy adds what a plug-in
system needs on top and loads entry points itself (``load_setuptools_entrypoints``). Hook
specifications are checked: an implementation with a misspelt hook or an argument the hook
does not have is refused when registered, not silently never called. Implementations may take
only the arguments they need. Call order is defined (``tryfirst``/``trylast``, else the latest
registered first), ``firstresult`` hooks stop at the first answer, and the same manager
registers plug-ins at run time, which is how the tests add one. pytest, tox and datasette use it
the same way.

Built-in plug-ins are registered by module name (as pytest's and datasette's are) rather than
through this package's own entry points: a checkout run with ``PYTHONPATH=src``, or an install
whose metadata is older than its code, still has them. Third-party plug-ins come from the
``segmentry`` entry-point group; one whose name is already registered is skipped.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pluggy

from segmentry.core.errors import ConfigError

if TYPE_CHECKING:
    import datetime as dt

    from segmentry.app.messaging.sending import Channel
    from segmentry.core.config import SourceSettings
    from segmentry.core.context import Context
    from segmentry.ledger.store import LedgerBatch
    from segmentry.store.coupons import Coupon

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "Destination",
    "RunOutcome",
    "before_ingest",
    "before_segments",
    "channels",
    "destinations",
    "hookimpl",
    "hookspec",
    "plugin_manager",
    "read_source",
    "source_kinds",
]

PROJECT = "segmentry"
ENTRY_POINT_GROUP = "segmentry"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
"""Marks a plug-in's implementation of a hook: ``@hookimpl def segmentry_read_source(...)``."""

BUILTIN_PLUGINS = (
    "segmentry.connectors.plugin",
    "segmentry.activation.shopify.plugin",
    "segmentry.activation.line.plugin",
    "segmentry.activation.email.plugin",
    "segmentry.app.messaging.plugin",
    "segmentry.app.campaigns.plugin",
    "segmentry.activation.webhooks.plugin",
    "segmentry.app.insight.predictive",
)


@dataclass(frozen=True)
class RunOutcome:
    """What a destination is told of a committed run: per segment, how many customers joined
    and left on ``day`` (every segment, zeros included)."""

    run_id: int
    day: dt.date
    joined: Mapping[str, int]
    left: Mapping[str, int]


@dataclass(frozen=True)
class Destination:
    """An after-run action. ``stage`` names it in the run record (``activate`` for Shopify's
    tag sync); ``push`` returns the stage's detail and raises a
    :class:`~segmentry.core.errors.SegmentryError` to record the stage as failed."""

    stage: str
    push: Callable[[RunOutcome], str]


class Hooks:
    """The hook specifications (see the module docstring)."""

    @hookspec
    def segmentry_source_kinds(self) -> Iterable[str]:  # type: ignore[empty-body]
        """The ``[[sources]]`` kinds this plug-in reads."""

    @hookspec(firstresult=True)
    def segmentry_read_source(
        self, source: SourceSettings, workspace: Context
    ) -> LedgerBatch | None:
        """One configured source's rows, or ``None`` when its kind is not this plug-in's."""

    @hookspec
    def segmentry_before_ingest(self, workspace: Context) -> str | None:
        """Work due before the sources are read; a note for the ingest stage, or ``None``."""

    @hookspec
    def segmentry_before_segments(self, workspace: Context, day: dt.date) -> str | None:
        """Work due before the segments are evaluated; a note for the models stage."""

    @hookspec
    def segmentry_channels(self, workspace: Context) -> Iterable[Channel] | None:
        """The channels configured for ``workspace``."""

    @hookspec
    def segmentry_destinations(
        self, workspace: Context
    ) -> Iterable[Destination] | None:
        """After-run actions for ``workspace``."""

    @hookspec(firstresult=True)
    def segmentry_coupon_codes(
        self, workspace: Context, campaign: str, step: str, segment: str, coupon: Coupon,
        customers: list[str], now: dt.datetime,
    ) -> dict[str, str] | None:
        """Make sure a campaign step's coupon exists for ``customers`` (created once however
        often asked) and return each one's code; ``None`` when this plug-in makes none."""


@functools.cache
def plugin_manager() -> pluggy.PluginManager:
    """The process's plug-in manager: the built-in plug-ins, then the installed ones.

    >>> pm = plugin_manager()
    >>> all(pm.has_plugin(name) for name in BUILTIN_PLUGINS)
    True
    >>> sorted(source_kinds())
    ['generic', 'parquet', 'shopify', 'shopify_csv']
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(Hooks)
    for name in BUILTIN_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def source_kinds() -> set[str]:
    """Every ``[[sources]]`` kind some registered plug-in reads."""
    return {kind for kinds in plugin_manager().hook.segmentry_source_kinds() for kind in kinds}


def read_source(source: SourceSettings, workspace: Context) -> LedgerBatch:
    """Read a configured source through the plug-in that reads its kind."""
    batch: LedgerBatch | None = plugin_manager().hook.segmentry_read_source(
        source=source, workspace=workspace
    )
    if batch is None:
        raise ConfigError(
            "No plug-in reads sources of kind {kind!r}.",
            hint="Use one of the kinds there are ({kinds}), or install the plug-in that "
            "provides it.",
            params={"kind": source.kind, "kinds": ", ".join(sorted(source_kinds()))},
        )
    return batch


def before_ingest(workspace: Context) -> list[str]:
    """The notes of the work done before the ingest, in call order (empty ones left out)."""
    notes = plugin_manager().hook.segmentry_before_ingest(workspace=workspace)
    return [note for note in notes if note]


def before_segments(workspace: Context, day: dt.date) -> list[str]:
    """The notes of the work done before the segments are evaluated (empty ones left out)."""
    notes = plugin_manager().hook.segmentry_before_segments(workspace=workspace, day=day)
    return [note for note in notes if note]


def channels(workspace: Context) -> dict[str, Channel]:
    """The configured channels by name (``line``, ``email``)."""
    found = plugin_manager().hook.segmentry_channels(workspace=workspace)
    return {channel.name: channel for some in found if some for channel in some}


def coupon_codes(workspace: Context, *, campaign: str, step: str, segment: str,
                 coupon: Coupon, customers: list[str], now: dt.datetime
                 ) -> dict[str, str] | None:
    """Each customer's coupon code for a campaign step (customers without one left out), from
    the plug-in that makes coupons (Shopify's); ``None`` when none does."""
    found: dict[str, str] | None = plugin_manager().hook.segmentry_coupon_codes(
        workspace=workspace, campaign=campaign, step=step, segment=segment, coupon=coupon,
        customers=customers, now=now)
    return found


def destinations(workspace: Context) -> list[Destination]:
    """The after-run actions for ``workspace``, in call order."""
    found = plugin_manager().hook.segmentry_destinations(workspace=workspace)
    return [destination for some in found if some for destination in some]
