"""The context of an open workspace: what every service needs, and nothing more.

A service (the segment service, the pipeline, a connector, a destination) takes a
:class:`Context`: the workspace's folder, its settings, its warehouse (an Ibis connection) and its
state store (a SQLAlchemy engine), its lock, and the shop's day. It never takes the
:class:`~segmentry.app.workspace.Workspace` facade, which is the Python API built on top of the
services (and a :class:`Context` itself, so a caller may pass one where a context is wanted).

The context lives at the bottom of the layers, so it cannot open an engine itself: whoever makes
one passes an :class:`Opener` (the app layer's opens the engines of :mod:`segmentry.engine` and
the state store of :mod:`segmentry.store`). Connections open on first use.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, Self

from segmentry.core.config import Settings
from segmentry.core.lock import workspace_lock

if TYPE_CHECKING:
    from ibis.backends import BaseBackend
    from sqlalchemy.engine import Engine

__all__ = ["Context", "Opener", "Progress"]

# progress(stage, done, total): called by long operations so a UI can draw a bar.
Progress = Callable[[str, int, int], None]


class Opener(Protocol):
    """How a context opens its connections (given by the layer that knows the engines)."""

    def warehouse(self, context: Context) -> BaseBackend:
        """A new connection to the context's warehouse."""

    def second_warehouse(self, owner: Context) -> BaseBackend:
        """Another connection to ``owner``'s warehouse, for another thread of this process."""

    def state(self, context: Context) -> Engine:
        """The state store's engine (created or upgraded in place if needed)."""


class Context:
    """An open workspace as services see it. :meth:`close` it when done (the
    :class:`~segmentry.app.workspace.Workspace` that made it does)."""

    def __init__(self, folder: Path, settings: Settings, opener: Opener) -> None:
        self.folder = folder
        self.settings = settings
        self._opener = opener
        self._warehouse: BaseBackend | None = None
        self._state: Engine | None = None
        # Seconds to wait for a DuckDB warehouse another process holds briefly (the server sets
        # it; a command fails at once with who holds it).
        self.warehouse_wait = 0.0
        # Set on a sibling (see :meth:`sibling`): the context whose warehouse it shares.
        self.sibling_of: Context | None = None

    @property
    def warehouse(self) -> BaseBackend:
        """The Ibis connection to the analytics warehouse (opened on first use; a sibling's is a
        second connection to its owner's)."""
        if self._warehouse is None:
            if self.sibling_of is not None:
                self._warehouse = self._opener.second_warehouse(self.sibling_of)
            else:
                self._warehouse = self._opener.warehouse(self)
        return self._warehouse

    @property
    def state(self) -> Engine:
        """The SQLAlchemy engine of the state store (opened on first use)."""
        if self._state is None:
            self._state = self._opener.state(self)
        return self._state

    def sibling(self) -> Self:
        """Another context on this workspace for another thread of this process (the server's
        background jobs): its own warehouse connection to the same database (made now, in the
        calling thread) and its own state-store engine. Close it when done; this one stays
        open."""
        other = type(self)(self.folder, self.settings, self._opener)
        other.sibling_of = self
        other.warehouse  # noqa: B018 - opens the second connection
        return other

    def close_warehouse(self) -> None:
        """Close the warehouse connection; the next use opens a new one."""
        if self._warehouse is not None:
            self._warehouse.disconnect()
            self._warehouse = None

    def close(self) -> None:
        self.close_warehouse()
        if self._state is not None:
            self._state.dispose()
            self._state = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def lock(self, command: str) -> Iterator[None]:
        """Hold the workspace's write lock (see :mod:`segmentry.core.lock`)."""
        with workspace_lock(self.folder, command):
            yield

    @property
    def timezone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.settings.shop.timezone)

    def today(self) -> dt.date:
        """Today in the shop's time zone."""
        return dt.datetime.now(self.timezone).date()
