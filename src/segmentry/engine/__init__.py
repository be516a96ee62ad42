"""Analytics engines: one Ibis connection per workspace warehouse.

A warehouse is named by a URL: ``duckdb:///path/to/warehouse.duckdb`` (the default, embedded)
or ``postgresql://user@host:port/db``. Everything analytic is an Ibis expression, so the same
code runs on both; per-engine differences live here as data, never as ``if`` chains elsewhere.
"""

from __future__ import annotations

from typing import Any

import ibis
from ibis.backends import BaseBackend

from segmentry.errors import EngineError, WorkspaceError

__all__ = ["connect", "engine_name"]


def connect(url: str) -> BaseBackend:
    """Open the warehouse named by ``url``.

    >>> connect("duckdb://").name
    'duckdb'
    """
    try:
        return ibis.connect(url)
    except Exception as e:  # the engines raise a zoo of types; wrap them all at the boundary
        text = str(e)
        if "lock" in text.lower() and url.startswith("duckdb"):
            raise WorkspaceError(
                f"The warehouse {url} is open for writing in another process.",
                code="warehouse_locked",
                hint="DuckDB allows one writer: stop the other segmentry process "
                "(see `segmentry runs`) and try again.",
            ) from e
        raise EngineError(f"Cannot open the warehouse {url}: {text}") from e


def engine_name(con: BaseBackend) -> str:
    """``duckdb`` or ``postgres`` (Ibis backend names)."""
    name: Any = con.name
    return str(name)
