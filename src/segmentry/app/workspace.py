"""A workspace: a folder with settings, a warehouse (DuckDB by default) and a state store.

This is the Python API; the CLI and the web app call the same methods.

>>> import tempfile, pathlib
>>> ws = Workspace.create(pathlib.Path(tempfile.mkdtemp()) / "shop")
>>> ws.segments()
[]
>>> ws.close()
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from segmentry.analytics.events import unrecorded_events
from segmentry.analytics.facts import build_facts
from segmentry.app.context import CONNECTIONS, current_day, settings_in
from segmentry.app.erasure import compact_warehouse
from segmentry.app.pipeline import Pipeline
from segmentry.app.segments import SegmentBook
from segmentry.app.templates import TEMPLATES
from segmentry.core import config
from segmentry.core.config import Settings
from segmentry.core.context import Context, Opener, Progress
from segmentry.core.errors import WorkspaceError
from segmentry.core.private_files import keep_private
from segmentry.ledger.store import LedgerBatch, ensure_ledger, import_memory, write_batch
from segmentry.store.runs import recent

if TYPE_CHECKING:
    import pandas as pd

    from segmentry.app.pipeline import RunReport
    from segmentry.app.segments import Segment

__all__ = ["Progress", "Workspace"]

class Workspace(Context):
    """An open workspace. Use :meth:`create` or :meth:`open`, and :meth:`close` when done.

    A workspace is a :class:`~segmentry.core.context.Context` (folder, settings, warehouse,
    state store, lock, day) with the Python API on top; the services below it take the context,
    never this facade."""

    def __init__(self, folder: Path, settings: Settings, opener: Opener = CONNECTIONS) -> None:
        super().__init__(folder, settings, opener)

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def create(
        cls,
        folder: str | Path,
        *,
        warehouse_url: str | None = None,
        shop_id: str = "shop",
        shop_name: str = "My shop",
        timezone: str = "Asia/Tokyo",
        currency: str = "JPY",
    ) -> Workspace:
        """Create an empty workspace (config file, warehouse, state store) in ``folder``."""
        path = Path(folder)
        if (path / config.CONFIG_FILE).exists():
            raise WorkspaceError(
                f"{path} is already a segmentry workspace.",
                hint="Open it instead, or choose an empty folder.",
            )
        keep_private()
        path.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            shop=config.ShopSettings(
                id=shop_id, name=shop_name, timezone=timezone, currency=currency
            ),
        )
        if warehouse_url:
            settings.warehouse.url = warehouse_url
        config.save(settings, path)
        ws = cls.open(path)

        ensure_ledger(ws.warehouse)
        return ws

    @classmethod
    def open(cls, folder: str | Path) -> Workspace:
        """Open the workspace in ``folder``."""
        path = Path(folder)
        return cls(path, settings_in(path))

    def compact_warehouse(
        self, siblings: Sequence[Context] = (), tables: tuple[str, ...] = ("customers",)
    ) -> bool:
        """See :func:`segmentry.app.erasure.compact_warehouse`."""
        return compact_warehouse(self, siblings, tables)

    # ------------------------------------------------------------ days

    def current_day(self) -> dt.date:
        """The day the segments are computed through (the last run's day), else today."""
        return current_day(self)

    # ------------------------------------------------------------ data

    def import_tables(self, tables: Mapping[str, pa.Table]) -> Any:
        """Upsert ledger tables (dict of table name → Arrow table) and rebuild the facts."""

        limit = self.settings.warehouse.memory_limit
        with self.lock("import"), import_memory(self.warehouse, limit):
            stats = write_batch(
                self.warehouse, LedgerBatch(**dict(tables)), tz=self.settings.shop.timezone
            )
            build_facts(self.warehouse, subtract_refunds=self.settings.metrics.subtract_refunds)
        return stats

    def record_events(self, events: pa.Table) -> dict[str, int]:
        """Upsert customer events (``customer_events`` rows: storefront views, Shopify Email
        events); an event already stored (same ``event_id``) is replaced, not added again.
        No facts depend on them, so none are rebuilt."""
        return write_batch(
            self.warehouse, LedgerBatch(customer_events=events), tz=self.settings.shop.timezone
        )

    def unrecorded_events(self, query: str) -> list[str]:
        """The event functions of ``query`` (``shopify_email.opened``, …) the store has no
        event of yet: for them MATCHES holds for no one (see
        :func:`segmentry.analytics.events.unrecorded_events`)."""
        return unrecorded_events(self.warehouse, self.validate(query))

    # ------------------------------------------------------------ segments

    def _book(self) -> Any:
        return SegmentBook(self)

    def segments(self) -> list[Segment]:
        """Every segment, by display name."""
        result: list[Segment] = self._book().list()
        return result

    def segment(self, name: str) -> Segment:
        """The segment with this key, else the one with this display name."""
        result: Segment = self._book().get(name)
        return result

    def add_segment(
        self,
        name: str | None = None,
        query: str = "",
        *,
        key: str | None = None,
        display_name: str | None = None,
        description: str = "",
        progress: Progress | None = None,
    ) -> Segment:
        """Define a segment and compute its full daily history at once.

        ``display_name`` is what people read (any text); ``key`` is used in URLs, tags, the CLI
        and the API, derived from the display name when not given. ``name`` (the older single
        name) is the key when it can be one, else the display name:
        ``add_segment("美容液リピーター", query)`` gets a derived key.

        All or nothing: the history is computed first and the segment saved with it in one
        state-store transaction, so an add that fails or is killed leaves no segment (see
        docs/reliability.md).
        """
        label = key or name or display_name or ""
        with self.lock(f"segments add {label}"):
            result: Segment = self._book().add(
                name, query, description, progress, key=key, display_name=display_name
            )
        return result

    def add_starter_segments(
        self, progress: Progress | None = None, *, lang: str = "en"
    ) -> list[Segment]:
        """Add every starter template not already defined (see :mod:`segmentry.app.templates`),
        named in ``lang`` ("ja" or "en")."""

        existing = {s.name for s in self.segments()}
        return [
            self.add_segment(
                key=t.name,
                display_name=t.title_in(lang),
                query=t.query,
                description=t.description_in(lang),
                progress=progress,
            )
            for t in TEMPLATES.values()
            if t.name not in existing
        ]

    def edit_segment(
        self,
        name: str,
        query: str | None = None,
        progress: Progress | None = None,
        *,
        description: str | None = None,
        display_name: str | None = None,
        key: str | None = None,
    ) -> Segment:
        """Change a segment: a new query is saved as a new version and its history recomputed;
        a new description or display name is saved as it is; a new ``key`` renames it (see
        :meth:`rename_segment`). ``None``: unchanged."""
        with self.lock(f"segments edit {name}"):
            result: Segment = self._book().edit(
                name,
                query,
                progress,
                description=description,
                display_name=display_name,
                key=key,
            )
        return result

    def rename_segment(self, name: str, key: str) -> Segment:
        """Give a segment a new key. Its history, metrics, folder and Shopify tag binding stay;
        segments that refer to it (``segments CONTAINS 'old'``) are rewritten to the new key;
        the old key then answers "renamed" errors naming the new one. For example, with
        ``not-buyers`` defined as ``NOT segments CONTAINS 'buyers'``::

            ws.rename_segment("buyers", "customers-with-orders")
            ws.segment("not-buyers").query  # "NOT segments CONTAINS 'customers-with-orders'"
        """
        with self.lock(f"segments edit {name} --key {key}"):
            result: Segment = self._book().rename(name, key)
        return result

    def recompute_segment(self, name: str, progress: Progress | None = None) -> Segment:
        """Compute a segment's full daily history again from the ledger as it is now (after
        customers or orders were imported late) and switch to it atomically; the definition
        and version do not change."""
        with self.lock(f"segments recompute {name}"):
            book = self._book()
            segment = book.get(name)
            book.recompute(segment.name, progress)
            result: Segment = book.get(segment.name)
        return result

    def remove_segment(self, name: str) -> None:
        with self.lock(f"segments remove {name}"):
            self._book().remove(name)

    def validate(self, query: str) -> Any:
        """Parse and check a query; raises QueryError with position and suggestion."""
        return self._book().validate(query)

    def explain(self, name: str) -> str:
        """The compiled SQL of a segment for the configured engine."""
        result: str = self._book().explain(name)
        return result

    def members(self, name: str, as_of: dt.date | None = None) -> pa.Table:
        """Members of a segment on a day (default: the current day) as an Arrow table."""
        result: pa.Table = self._book().members(name, as_of)
        return result

    def member_details(
        self, name: str, as_of: dt.date | None = None
    ) -> tuple[list[dict[str, Any]], dt.date]:
        """Members on a day (default: the current day) with their contact details and order
        figures as of that day, in :data:`segmentry.analytics.exports.MEMBER_COLUMNS`; and the
        day."""
        return self._book().member_details(name, as_of)

    def history(self, name: str) -> pd.DataFrame:
        """Joined and left per day (days with a change)."""
        return self._book().history(name)

    def metrics(self, name: str) -> pd.DataFrame:
        """Daily metrics of a segment (one row per day of its history)."""
        return self._book().metrics(name)

    # ------------------------------------------------------------ pipeline

    def run(self, day: dt.date | None = None, progress: Progress | None = None) -> RunReport:
        """The daily pipeline (see :mod:`segmentry.app.pipeline`)."""

        return Pipeline(self).run(day or self.today(), progress)

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The latest pipeline runs with their stages, newest first."""

        return recent(self.state, limit)
