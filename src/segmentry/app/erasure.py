"""Erasing a customer so that no copy of their personal data is left in the workspace folder.

Shopify's ``customers/redact`` (and ``segmentry``'s own callers) erase a customer in two steps:

1. :func:`erase_customer`, at once: the ledger's personal columns of the customer
   (:data:`PERSONAL_COLUMNS`) are set to NULL; their data-request exports in ``privacy/`` are
   overwritten and removed; rows of rejected-rows files (``rejects-*.csv``) that mention any of
   their values are overwritten and dropped; the messages planned for them lose their address
   and content (those not sent yet are skipped), and their unsubscriptions, rich-menu links and
   clicked addresses go (:func:`segmentry.store.erasures.clear_messaging`); the erasure is
   recorded in the state store.
2. :func:`finish_erasures`, as soon as the process may close the warehouse: an embedded DuckDB
   file is rewritten (DuckDB leaves updated values in freed blocks; see
   :mod:`segmentry.engine.compaction`) and SQLite's write-ahead log is checkpointed and
   truncated (the state store zeroes deleted content: ``PRAGMA secure_delete``). The daily run,
   ``serve-webhooks`` and the web server's background jobs call it; until it has run, the
   erasure is listed as waiting.

The orders stay (with the customer's id, for the shop's figures); their names, e-mail, phone and
address do not. What is outside the folder — backups, copies, a PostgreSQL server's own files
— is the operator's to handle (docs/operations.md).
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import sqlalchemy as sa

from segmentry.app.disclosure import exports_of
from segmentry.core.clock import utcnow
from segmentry.core.context import Context
from segmentry.core.errors import EngineError
from segmentry.engine import duckdb_file
from segmentry.engine.compaction import compact_duckdb_file
from segmentry.engine.engines import engine_of
from segmentry.ledger.removals import PERSONAL_COLUMNS, clear_personal_data
from segmentry.ledger.schema import TABLES
from segmentry.store import erasures

__all__ = [
    "PERSONAL_COLUMNS",
    "compact_warehouse",
    "erase_customer",
    "erase_shop_files",
    "finish_erasures",
    "mentions",
    "waiting_erasures",
]

log = logging.getLogger("segmentry.app.erasure")

# Values shorter than this are too common to search for (a one-letter initial).
_SHORTEST = 2


def erase_customer(ws: Context, customer_id: str, known: Iterable[str | None] = ()) -> set[str]:
    """Clear the customer's personal data now (step 1 of the module docstring) and record the
    erasure; the values searched for and removed (the ledger's and ``known`` ones, such as the
    e-mail and phone in Shopify's request)."""
    values = _values_of(ws, customer_id) | {v.strip() for v in known if v and v.strip()}
    values = {v for v in values if len(v) >= _SHORTEST}
    clear_personal_data(ws.warehouse, ws.settings.shop.id, customer_id)
    for export in exports_of(ws.folder, customer_id):
        _overwrite(export, b"")
        export.unlink()
    for rejects in ws.folder.rglob("rejects-*.csv"):
        _drop_rows_mentioning(rejects, values)
    _record(ws, customer_id)
    return values


def erase_shop_files(ws: Context) -> None:
    """After the shop's ledger rows were deleted (Shopify's ``shop/redact``): remove every
    data-request export and rejected-rows file, and record the erasure (customer ``*``) so
    that :func:`finish_erasures` rewrites the warehouse."""
    for path in [*(ws.folder / "privacy").glob("*.json"), *ws.folder.rglob("rejects-*.csv")]:
        _overwrite(path, b"")
        path.unlink()
    _record(ws, "*")


def _record(ws: Context, customer_id: str) -> erasures.MessagingCleared:
    """Clear the customer's (``*``: everyone's) messaging data from the state store and record
    the erasure, in one transaction."""
    now = utcnow()
    with ws.state.begin() as conn:
        cleared = erasures.clear_messaging(conn, None if customer_id == "*" else customer_id,
                                           at=now)
        erasures.record(conn, ws.settings.shop.id, customer_id, now)
    if cleared.not_sent:
        log.info("erasure of %s: %d message(s) not sent yet are skipped", customer_id,
                 cleared.not_sent)
    return cleared


def waiting_erasures(engine: sa.Engine) -> int:
    """How many erasures still wait for :func:`finish_erasures`."""
    with engine.connect() as conn:
        return erasures.waiting(conn)


def finish_erasures(ws: Context, siblings: Sequence[Context] = ()) -> int:
    """Remove what the erasures waiting left in old blocks and logs (step 2 of the module
    docstring); how many were finished (0 when none waited or the warehouse could not be
    closed now: they wait for the next call).

    The caller holds the workspace lock and makes sure nothing else uses ``ws`` and its
    ``siblings`` meanwhile. A sibling leaves the work to its owner."""
    if ws.sibling_of is not None or not waiting_erasures(ws.state):
        return 0
    with ws.state.connect() as conn:
        whole_shop = erasures.whole_shop_waiting(conn)
    tables = tuple(TABLES) if whole_shop else ("customers",)
    try:
        compact_warehouse(ws, siblings, tables)
    except EngineError as e:
        log.warning("erasure waits: %s", e.message)
        return 0
    if not _checkpoint_state_store(ws.state):
        log.warning("erasure waits: the state store's log is in use")
        return 0
    with ws.state.begin() as conn:
        done = erasures.finish_waiting(conn, utcnow())
    _checkpoint_state_store(ws.state)  # the update just written goes into the file as well
    return done


def compact_warehouse(
    ws: Context, siblings: Sequence[Context] = (), tables: tuple[str, ...] = ("customers",)
) -> bool:
    """Leave no old version of updated or deleted rows of ``tables`` in the warehouse (after
    an erasure): an embedded DuckDB file is rewritten (see
    :mod:`segmentry.engine.compaction`), a server engine is asked to drop them (PostgreSQL:
    ``VACUUM FULL``). False, doing nothing, on a sibling (its owner compacts).

    The caller holds the workspace lock and makes sure nothing uses ``ws`` or ``siblings``
    meanwhile: their connections are closed here and opened again before it returns (while
    the caller still holds its locks), whether or not the rewrite succeeded. Raises
    :class:`~segmentry.core.errors.EngineError` if the file is still open elsewhere in this
    process."""
    if ws.sibling_of is not None:
        return False
    path = duckdb_file(ws.settings.warehouse.url)
    if path is None:
        engine_of(ws.warehouse).erase_old_versions(ws.warehouse, tables)
        return True
    for context in (*siblings, ws):
        context.close_warehouse()
    try:
        compact_duckdb_file(path)
    finally:
        for sibling in siblings:  # the owner's connection first (a sibling's is a cursor of it)
            sibling.warehouse  # noqa: B018 - opened now, under the caller's locks
    return True


def mentions(text: str | bytes | None, values: Iterable[str]) -> bool:
    """Whether ``text`` contains any of ``values``.

    >>> mentions('{"email": "hanako@example.jp"}', {"hanako@example.jp"})
    True
    >>> mentions(None, {"x"}), mentions(b"\\xe8\\x8a\\xb1", {"花"})
    (False, True)
    """
    if text is None:
        return False
    data = text.encode() if isinstance(text, str) else bytes(text)
    return any(v.encode() in data for v in values)


def _values_of(ws: Context, customer_id: str) -> set[str]:
    customers = ws.warehouse.table("customers")
    rows = customers.filter(
        (customers.shop_id == ws.settings.shop.id) & (customers.customer_id == customer_id)
    ).select(*PERSONAL_COLUMNS)
    found = ws.warehouse.to_pyarrow(rows).to_pylist()
    return {str(v).strip() for row in found for v in row.values() if v is not None}


def _drop_rows_mentioning(path: Path, values: set[str]) -> None:
    """Rewrite a CSV file in place without the rows that mention any of ``values``."""
    text = path.read_text(encoding="utf-8", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    kept = [row for row in rows if not any(mentions(cell, values) for cell in row)]
    if len(kept) == len(rows):
        return
    out = io.StringIO()
    csv.writer(out).writerows(kept)
    _overwrite(path, out.getvalue().encode("utf-8"))


def _overwrite(path: Path, content: bytes) -> None:
    """Replace a file's bytes in place: zeros over the old content first (so the old bytes are
    not left in blocks the file gives up), then ``content``."""
    with path.open("r+b") as f:
        size = f.seek(0, os.SEEK_END)
        f.seek(0)
        f.write(b"\0" * size)
        f.flush()
        os.fsync(f.fileno())
        f.seek(0)
        f.truncate()
        f.write(content)
        f.flush()
        os.fsync(f.fileno())


def _checkpoint_state_store(engine: sa.Engine) -> bool:
    """Fold SQLite's write-ahead log into the file and truncate it; False if a reader kept it
    from finishing. Other engines: True (their logs are the server's)."""
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
    return busy is not None and busy[0] == 0
