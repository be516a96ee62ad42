"""One class per warehouse engine: what differs between DuckDB and PostgreSQL lives here, so
the rest of segmentry never switches on the dialect or reaches into a connection's private
attributes. A new engine (Spark comes next) is a subclass registered in :data:`ENGINES`.

>>> engine_for_url("duckdb:///srv/shop/warehouse.duckdb").name
'duckdb'
>>> engine_for_url("postgresql://db/shop").name
'postgres'
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmentry.core.errors import EngineError

__all__ = ["ENGINES", "DuckDB", "Engine", "PostgreSQL", "engine_for_url", "engine_of"]


class Engine:
    """What an engine does its own way. The base class is what every SQL engine shares."""

    name: ClassVar[str]
    url_schemes: ClassVar[tuple[str, ...]]

    def open(self, url: str, *, memory_limit: str | None = None) -> BaseBackend:
        """A new connection to the warehouse at ``url``, configured."""
        con = ibis.connect(url)
        self.configure(con, memory_limit=memory_limit)
        return con

    def configure(self, con: BaseBackend, *, memory_limit: str | None) -> None:
        """Settings every new connection gets."""

    def second_connection(self, con: BaseBackend, url: str) -> BaseBackend:
        """Another connection to the warehouse ``con`` has open, for another thread."""
        return self.open(url)

    @contextlib.contextmanager
    def transaction(self, con: BaseBackend) -> Iterator[None]:
        """Run the enclosed writes atomically (DDL included)."""
        raise EngineError(
            "Transactions are not supported on the {engine} engine.", params={"engine": self.name}
        )
        yield  # pragma: no cover

    def execute(self, con: BaseBackend, sql: str) -> None:
        """Run one SQL statement whose result is not needed."""
        with con._safe_raw_sql(sql):  # NOTE: closes the cursor it opens
            pass

    def file_of(self, url: str) -> Path | None:
        """The file holding an embedded warehouse; None for a server."""
        return None

    def is_locked_error(self, error: Exception) -> bool:
        """Whether opening failed because another process holds the warehouse."""
        return False

    def append(self, con: BaseBackend, table: str, chunks: Iterator[pa.Table]) -> None:
        """Insert rows given a chunk at a time (chunks of one schema, the table's columns)."""
        for chunk in chunks:
            con.insert(table, chunk)

    def load_parquet(self, con: BaseBackend, table: str, path: Path) -> bool:
        """Append a Parquet file's rows (its columns are the table's) if the engine reads files
        itself; False when it does not (the caller streams the rows instead)."""
        return False

    @contextlib.contextmanager
    def memory_limited(self, con: BaseBackend, limit: str, restore: str | None) -> Iterator[None]:
        """Hold the engine to ``limit`` of memory for the block, then to ``restore`` (None:
        its default); nothing for an engine that does not take such a limit."""
        yield

    def erase_old_versions(self, con: BaseBackend, tables: tuple[str, ...]) -> None:
        """Make the engine drop old versions of updated or deleted rows of ``tables`` (after an
        erasure) where it can do so on an open connection; an embedded file is rewritten by
        :func:`segmentry.app.erasure.compact_warehouse` instead."""


class DuckDB(Engine):
    name = "duckdb"
    url_schemes = ("duckdb",)
    # NOTE: DuckDB draws its own progress bars on stdout for long queries; we draw ours.
    _SETUP = ("SET enable_progress_bar = false",)

    def configure(self, con: BaseBackend, *, memory_limit: str | None) -> None:
        for statement in self._SETUP:
            con.raw_sql(statement)
        if memory_limit:
            con.raw_sql(setting("memory_limit", memory_limit).sql("duckdb"))

    def second_connection(self, con: BaseBackend, url: str) -> BaseBackend:
        """A cursor of the same database (DuckDB's way to use one database from several
        threads; each cursor has its own transactions and temporary tables, and sees what the
        others committed)."""
        other = ibis.duckdb.from_connection(_raw(con).cursor())
        self.configure(other, memory_limit=None)
        return other

    @contextlib.contextmanager
    def transaction(self, con: BaseBackend) -> Iterator[None]:
        raw = _raw(con)
        raw.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")

    def execute(self, con: BaseBackend, sql: str) -> None:
        # NOTE: on DuckDB `raw_sql` returns the connection itself, which must not be closed.
        _raw(con).execute(sql)

    def file_of(self, url: str) -> Path | None:
        """
        >>> DuckDB().file_of("duckdb:////srv/shop/warehouse.duckdb")  # a workspace's absolute path
        PosixPath('/srv/shop/warehouse.duckdb')
        >>> DuckDB().file_of("duckdb://") is None
        True
        """
        rest = url.split("://", 1)[1].split("?", 1)[0]
        if rest in ("", ":memory:"):
            return None
        return Path("/" + rest.lstrip("/")) if rest.startswith("/") else Path(rest)

    def is_locked_error(self, error: Exception) -> bool:
        return "lock" in str(error).lower()


    def append(self, con: BaseBackend, table: str, chunks: Iterator[pa.Table]) -> None:
        """The chunks streamed into ONE ``INSERT``: a statement that appends whole row groups
        writes them to the warehouse file before the transaction commits (DuckDB's optimistic
        writes), so memory stays bounded; many small inserts in one transaction were each kept
        in memory until the commit (430 MiB for the orders and lines of a 200 MiB export)."""
        first = next(chunks, None)
        if first is None:
            return
        failed: list[BaseException] = []

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for chunk in itertools.chain([first], chunks):
                    yield from chunk.to_batches()
            except BaseException as e:  # DuckDB would report it as its own error: keep it
                failed.append(e)
                raise

        view = f"_incoming_{uuid.uuid4().hex[:8]}"
        _raw(con).register(view, pa.RecordBatchReader.from_batches(first.schema, batches()))
        try:
            self.execute(con, _insert_select(table, first.column_names,
                                             sg.to_identifier(view, quoted=True)))
        except Exception as e:
            if failed:
                raise failed[0] from e
            raise
        finally:
            _raw(con).unregister(view)

    def load_parquet(self, con: BaseBackend, table: str, path: Path) -> bool:
        """``INSERT INTO table SELECT … FROM read_parquet(path)``: DuckDB reads the file itself
        (no Arrow round trip through Python: half the memory and time of streaming its chunks)."""
        source = sge.func("read_parquet", sge.convert(str(path)))
        self.execute(con, _insert_select(table, pq.read_schema(path).names, source))
        return True

    @contextlib.contextmanager
    def memory_limited(self, con: BaseBackend, limit: str, restore: str | None) -> Iterator[None]:
        self.execute(con, setting("memory_limit", limit).sql("duckdb"))
        try:
            yield
        finally:
            self.execute(con, setting("memory_limit", restore).sql("duckdb") if restore
                         else "RESET memory_limit")


class PostgreSQL(Engine):
    name = "postgres"
    url_schemes = ("postgres", "postgresql")

    @contextlib.contextmanager
    def transaction(self, con: BaseBackend) -> Iterator[None]:
        # NOTE: Ibis wraps each statement in psycopg's `transaction()`, which nests as a
        # savepoint inside this outer one, so everything commits (or rolls back) together.
        with _raw(con).transaction():
            yield

    def erase_old_versions(self, con: BaseBackend, tables: tuple[str, ...]) -> None:
        """``VACUUM FULL`` rewrites the tables without their dead row versions (it locks them
        while it runs; the connection is in autocommit, as VACUUM needs)."""
        names = ", ".join(sg.to_identifier(t, quoted=True).sql("postgres") for t in tables)
        # NOTE: straight on the driver's connection: Ibis's statements run in a transaction.
        _raw(con).execute(f"VACUUM FULL {names}")


ENGINES: dict[str, Engine] = {engine.name: engine for engine in (DuckDB(), PostgreSQL())}


def engine_of(con: BaseBackend) -> Engine:
    """The engine of an open connection."""
    name = str(con.name)
    if name not in ENGINES:
        raise EngineError("The {engine} engine is not supported.", params={"engine": name})
    return ENGINES[name]


def engine_for_url(url: str) -> Engine:
    """The engine a warehouse URL names."""
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    for engine in ENGINES.values():
        if scheme in engine.url_schemes:
            return engine
    raise EngineError(
        "The warehouse URL {url} names no engine segmentry supports.",
        params={"url": url},
        hint="Use duckdb:///path/to/warehouse.duckdb or postgresql://user@host/db.",
    )


def setting(name: str, value: str) -> sge.Expression:
    """``SET name = 'value'`` (a setting's value cannot be a bound parameter).

    >>> setting("memory_limit", "3GB").sql("duckdb")
    "SET memory_limit = '3GB'"
    """
    assignment = sge.EQ(this=sg.to_identifier(name), expression=sge.convert(value))
    return sge.Set(expressions=[sge.SetItem(this=assignment)])


def _insert_select(table: str, columns: list[str], source: sge.Expression) -> str:
    """``INSERT INTO table (columns) SELECT columns FROM source`` (DuckDB SQL)."""
    names = [sg.to_identifier(c, quoted=True) for c in columns]
    insert = sge.insert(
        sg.select(*names).from_(source),
        sge.Schema(this=sg.to_identifier(table, quoted=True), expressions=names),
    )
    return insert.sql("duckdb")


def _raw(con: BaseBackend) -> Any:
    """The driver's own connection under an Ibis backend (its public ``con`` attribute)."""
    return con.con
