"""Analytics engines: one Ibis connection per workspace warehouse.

A warehouse is named by a URL: ``duckdb:///path/to/warehouse.duckdb`` (the default, embedded)
or ``postgresql://user@host:port/db``. Everything analytic is an Ibis expression, so the same
code runs on both; what differs per engine is a class in :mod:`segmentry.engine.engines`, never
an ``if`` on the dialect elsewhere.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmentry.core.errors import EngineError, WorkspaceError
from segmentry.engine.engines import DuckDB, engine_for_url, engine_of

__all__ = [
    "Scratch",
    "add_missing_columns",
    "connect",
    "delete_listed",
    "duckdb_file",
    "engine_name",
    "execute",
    "second_connection",
    "transaction",
]


def connect(url: str, *, memory_limit: str | None = None, wait: float = 0.0) -> BaseBackend:
    """Open the warehouse named by ``url``. A DuckDB file another process holds is tried again
    (with back-off) for up to ``wait`` seconds before it is reported as locked: the web server
    waits this way for a short holder, such as the webhook receiver applying its queue.

    >>> connect("duckdb://").name
    'duckdb'
    """
    deadline = time.monotonic() + wait
    pause = 0.05
    while True:
        try:
            return _connect(url, memory_limit)
        except WorkspaceError as e:
            if e.code != "warehouse_locked" or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 1.0)


def _connect(url: str, memory_limit: str | None) -> BaseBackend:
    engine = engine_for_url(url)
    try:
        return engine.open(url, memory_limit=memory_limit)
    except Exception as e:  # the engines raise a zoo of types; wrap them all at the boundary
        if engine.is_locked_error(e):
            raise WorkspaceError(
                "The warehouse {url} is open for writing in another process.",
                code="warehouse_locked",
                params={"url": url},
            ) from e
        raise EngineError(
            "Cannot open the warehouse {url}: {text}", params={"url": url, "text": str(e)}
        ) from e


def second_connection(con: BaseBackend, url: str) -> BaseBackend:
    """Another connection to the warehouse ``con`` has open, for another thread of this process.

    DuckDB: a cursor of the same database (DuckDB's way to use one database from several
    threads; each cursor has its own transactions and temporary tables, and sees what the
    others committed). Other engines: a new connection to ``url``.

    >>> con = connect("duckdb://")
    >>> second_connection(con, "duckdb://").name
    'duckdb'
    """
    return engine_of(con).second_connection(con, url)


def duckdb_file(url: str) -> Path | None:
    """The file of an embedded DuckDB warehouse URL; None for another engine or in memory.

    >>> duckdb_file("duckdb:///srv/shop/warehouse.duckdb")
    PosixPath('/srv/shop/warehouse.duckdb')
    >>> duckdb_file("duckdb://"), duckdb_file("postgresql://db/shop")
    (None, None)
    """
    engine = engine_for_url(url)
    return engine.file_of(url) if isinstance(engine, DuckDB) else None


def engine_name(con: BaseBackend) -> str:
    """``duckdb`` or ``postgres`` (Ibis backend names)."""
    return engine_of(con).name


@contextlib.contextmanager
def transaction(con: BaseBackend) -> Iterator[None]:
    """Run the enclosed warehouse writes atomically (DDL included, on both engines)."""
    with engine_of(con).transaction(con):
        yield


def execute(con: BaseBackend, statement: Any) -> None:
    """Run one sqlglot statement (built with sqlglot's builders, never with f-strings)."""
    sql = statement.sql(dialect=con.dialect) if hasattr(statement, "sql") else statement
    engine_of(con).execute(con, sql)


def add_missing_columns(con: BaseBackend, name: str, schema: Any) -> None:
    """Add to table ``name`` the columns of ``schema`` (an Ibis schema) it lacks: columns
    added to a table's definition after the table was made, NULL for its old rows.
    NOTE: new columns go last in a definition, so the table's column order stays the same."""
    present = set(con.get_schema(name).names)
    for column, dtype in schema.items():
        if column not in present:
            added = sge.ColumnDef(
                this=sg.to_identifier(column, quoted=True),
                kind=con.compiler.type_mapper.from_ibis(dtype),
            )
            execute(con, sge.Alter(this=sg.table(name, quoted=True), kind="TABLE",
                                   actions=[added]))


def delete_listed(table: str, listed: str, keys: Sequence[str]) -> sge.Expression:
    """``DELETE FROM table USING listed l WHERE l.k = table.k …``: the rows whose keys are
    listed in another table (both engines; faster on DuckDB than ``WHERE EXISTS``).

    >>> delete_listed("orders", "stage", ["order_id"]).sql("postgres")
    'DELETE FROM "orders" USING "stage" AS l WHERE "l"."order_id" = "orders"."order_id"'
    """
    matches = [
        sg.column(k, table="l", quoted=True).eq(sg.column(k, table=table, quoted=True))
        for k in keys
    ]
    delete = sge.delete(sg.table(table, quoted=True), where=sge.and_(*matches))
    delete.set("using", [sg.table(listed, quoted=True).as_("l")])
    return delete


class Scratch:
    """Temporary tables made for one piece of work, dropped when it ends.

    >>> import ibis
    >>> con = connect("duckdb://")
    >>> with Scratch(con) as scratch:
    ...     name = scratch.keep(ibis.memtable({"a": [1, 2]}))
    ...     int(con.table(name).count().execute())
    2
    >>> name in con.list_tables()
    False
    """

    def __init__(self, con: BaseBackend) -> None:
        self.con, self.names = con, list[str]()

    def keep(self, data: ir.Table | pa.Table, prefix: str = "_scratch") -> str:
        """Materialise ``data`` (an expression or Arrow rows) as a temporary table named
        ``<prefix>_<random>``; returns its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.names.append(name)
        self.con.create_table(name, data, temp=True)
        return name

    def close(self) -> None:
        """Drop every table kept (the connection stays open)."""
        while self.names:
            self.con.drop_table(self.names.pop(), force=True)

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
