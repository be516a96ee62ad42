"""Analytics engines: one Ibis connection per workspace warehouse.

A warehouse is named by a URL: ``duckdb:///path/to/warehouse.duckdb`` (the default, embedded)
or ``postgresql://user@host:port/db``. Everything analytic is an Ibis expression, so the same
code runs on both; per-engine differences live here as data, never as ``if`` chains elsewhere.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmentry.core.errors import EngineError, WorkspaceError

__all__ = [
    "Scratch",
    "connect",
    "delete_listed",
    "duckdb_file",
    "engine_name",
    "execute",
    "second_connection",
    "transaction",
]


# Statements run on every new connection, per engine.
_SETUP: dict[str, tuple[str, ...]] = {
    # NOTE: DuckDB draws its own progress bars on stdout for long queries; we draw ours.
    "duckdb": ("SET enable_progress_bar = false",),
}


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
    try:
        con = ibis.connect(url)
        for statement in _SETUP.get(engine_name(con), ()):
            con.raw_sql(statement)
        if memory_limit and engine_name(con) == "duckdb":
            con.raw_sql(_setting("memory_limit", memory_limit).sql("duckdb"))
        return con
    except Exception as e:  # the engines raise a zoo of types; wrap them all at the boundary
        text = str(e)
        if "lock" in text.lower() and url.startswith("duckdb"):
            raise WorkspaceError(
                "The warehouse {url} is open for writing in another process.",
                code="warehouse_locked",
                params={"url": url},
                hint="DuckDB allows one writer: stop the other segmentry process "
                "(see `segmentry runs`) and try again.",
            ) from e
        raise EngineError(
            "Cannot open the warehouse {url}: {text}", params={"url": url, "text": text}
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
    if engine_name(con) != "duckdb":
        return connect(url)
    other = ibis.duckdb.from_connection(con.con.cursor())
    for statement in _SETUP["duckdb"]:
        other.raw_sql(statement)
    return other


def duckdb_file(url: str) -> Path | None:
    """The file of an embedded DuckDB warehouse URL; None for another engine or in memory.

    >>> duckdb_file("duckdb:///srv/shop/warehouse.duckdb")
    PosixPath('/srv/shop/warehouse.duckdb')
    >>> duckdb_file("duckdb:////srv/shop/warehouse.duckdb")  # a workspace's absolute path
    PosixPath('/srv/shop/warehouse.duckdb')
    >>> duckdb_file("duckdb://"), duckdb_file("postgresql://db/shop")
    (None, None)
    """
    scheme = "duckdb://"
    if not url.startswith(scheme):
        return None
    rest = url[len(scheme):].split("?", 1)[0]
    if rest in ("", ":memory:"):
        return None
    return Path("/" + rest.lstrip("/")) if rest.startswith("/") else Path(rest)


def _setting(name: str, value: str) -> sge.Expression:
    """``SET name = 'value'`` (a setting's value cannot be a bound parameter).

    >>> _setting("memory_limit", "3GB").sql("duckdb")
    "SET memory_limit = '3GB'"
    """
    assignment = sge.EQ(this=sg.to_identifier(name), expression=sge.convert(value))
    return sge.Set(expressions=[sge.SetItem(this=assignment)])


def engine_name(con: BaseBackend) -> str:
    """``duckdb`` or ``postgres`` (Ibis backend names)."""
    name: Any = con.name
    return str(name)


@contextlib.contextmanager
def _duckdb_transaction(con: Any) -> Iterator[None]:
    raw = con.con
    raw.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        raw.execute("ROLLBACK")
        raise
    raw.execute("COMMIT")


@contextlib.contextmanager
def _postgres_transaction(con: Any) -> Iterator[None]:
    # NOTE: Ibis wraps each statement in psycopg's `transaction()`, which nests as a savepoint
    # inside this outer one, so everything commits (or rolls back) together.
    with con.con.transaction():
        yield


_TRANSACTIONS: dict[str, Callable[[Any], contextlib.AbstractContextManager[None]]] = {
    "duckdb": _duckdb_transaction,
    "postgres": _postgres_transaction,
}


@contextlib.contextmanager
def transaction(con: BaseBackend) -> Iterator[None]:
    """Run the enclosed warehouse writes atomically (DDL included, on both engines)."""
    begin = _TRANSACTIONS.get(engine_name(con))
    if begin is None:
        raise EngineError(
            "Transactions are not supported on the {engine} engine.",
            params={"engine": engine_name(con)},
        )
    with begin(con):
        yield


def execute(con: BaseBackend, statement: Any) -> None:
    """Run one sqlglot statement (built with sqlglot's builders, never with f-strings)."""
    sql = statement.sql(dialect=con.dialect) if hasattr(statement, "sql") else statement
    # NOTE: `_safe_raw_sql` closes the cursor on PostgreSQL; on DuckDB `raw_sql` returns the
    # connection itself, which must not be closed.
    with con._safe_raw_sql(sql):
        pass


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

    def keep(self, expr: ir.Table) -> str:
        """Materialise ``expr`` as a temporary table; returns its name."""
        name = f"_scratch_{uuid.uuid4().hex[:8]}"
        self.names.append(name)
        self.con.create_table(name, expr, temp=True)
        return name

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in self.names:
            self.con.drop_table(name, force=True)
