"""Opening a workspace's context (see :mod:`segmentry.core.context`): the engines of
:mod:`segmentry.engine` for the warehouse, :mod:`segmentry.store` for the state store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from segmentry.core import config
from segmentry.core.context import Context
from segmentry.core.errors import WorkspaceError
from segmentry.core.private_files import keep_private, tighten
from segmentry.engine import connect, second_connection
from segmentry.store.connection import open_state_store
from segmentry.store.runs import last_succeeded_day

if TYPE_CHECKING:
    from ibis.backends import BaseBackend
    from sqlalchemy.engine import Engine

__all__ = ["CONNECTIONS", "Connections", "current_day", "open_context", "settings_in"]


class Connections:
    """The :class:`~segmentry.core.context.Opener` of every workspace: the warehouse named by
    ``[warehouse] url`` and the state store named by ``[state] url``."""

    def warehouse(self, context: Context) -> BaseBackend:
        warehouse = context.settings.warehouse
        return connect(
            warehouse.url, memory_limit=warehouse.memory_limit, wait=context.warehouse_wait
        )

    def second_warehouse(self, owner: Context) -> BaseBackend:
        return second_connection(owner.warehouse, owner.settings.warehouse.url)

    def state(self, context: Context) -> Engine:
        return open_state_store(context.settings.state.url)


CONNECTIONS = Connections()


def settings_in(folder: Path) -> config.Settings:
    """The settings of the workspace in ``folder`` (made private to its owner on the way)."""
    if not (folder / config.CONFIG_FILE).exists():
        raise WorkspaceError(
            "{folder} is not a segmentry workspace (no {file}).",
            code="not_a_workspace",
            params={"folder": str(folder.resolve()), "file": config.CONFIG_FILE},
        )
    keep_private()
    tighten(folder)
    return config.load(folder)


def open_context(folder: str | Path) -> Context:
    """The context of the workspace in ``folder`` (connections open on first use)."""
    path = Path(folder)
    return Context(path, settings_in(path), CONNECTIONS)


def current_day(context: Context) -> dt.date:
    """The day the segments are computed through (the last run's day), else today."""
    return last_succeeded_day(context.state) or context.today()
