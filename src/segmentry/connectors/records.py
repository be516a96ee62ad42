"""Reading source files row by row, with the position of every value, and parsing cell values.

Every file connector reads through here, so a bad value is always reported the same way: a
:class:`~segmentry.core.errors.BadRow` naming the file, the 1-based **physical line** where the row
starts (a quoted value may span several lines: the row's first line is reported), the column
header and the reason. Parquet files have no lines: their rows are numbered from 1 instead.

Parsing rules shared by every connector:

- timestamps: ``2026-04-05 21:06:21 +0400``, ISO 8601 (``2026-04-05T21:06:21+04:00``, ``…Z``),
  ``2026/04/05 21:06`` and bare dates; a value without an offset is local time in the shop's
  time zone. Results are naive UTC, as the ledger stores them. Years 1900–2199 only;
- money: decimal text, ``1,234.50`` thousands separators allowed, rounded half-up to cents;
  at most 16 digits before the point (the ledger's ``decimal(18, 2)``), computed amounts too;
- whole numbers (quantities): 64-bit;
- booleans: yes/no, true/false, y/n, 1/0 (any case);
- a leading ``'`` (written by Shopify to keep spreadsheets from mangling ids, phones and zip
  codes) is stripped from every text value.

>>> parse_timestamp("2026-04-05 21:06:21 +0400", "Asia/Tokyo")
datetime.datetime(2026, 4, 5, 17, 6, 21)
>>> parse_money("1,234.5")
Decimal('1234.50')
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import re
import uuid
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import pyarrow as pa
import pyarrow.parquet as pq

from segmentry.core.errors import BadRow, DataImportError
from segmentry.ledger.store import (
    CHUNK_ROWS,
    LedgerBatch,
    SpilledTable,
    TableRows,
    add_local_dates,
    arrow_schema,
    conform,
)

if TYPE_CHECKING:
    from segmentry.connectors.identity import CustomerLinks

__all__ = [
    "Cells",
    "Encoding",
    "OrderGroups",
    "OrderRows",
    "Problems",
    "ReadResult",
    "Record",
    "SourceFile",
    "TableSink",
    "arrow_columns",
    "arrow_table",
    "choose_encoding",
    "fits_money",
    "parse_bool",
    "parse_int",
    "parse_list",
    "parse_money",
    "parse_timestamp",
    "read_csv",
    "read_parquet_rows",
    "resolve_columns",
]

CENT = Decimal("0.01")
# Dates accepted in files: the years of any shop's orders, with room on both sides.
FIRST_YEAR, LAST_YEAR = 1900, 2199
_TRUE = {"yes", "true", "y", "1", "t"}
_FALSE = {"no", "false", "n", "0", "f"}
_OFFSET = re.compile(r"^(?P<stamp>.+?)\s*(?P<offset>Z|UTC|[+-]\d{2}:?\d{2})$", re.IGNORECASE)
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_SLASHED = ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d")

# How a CSV file is decoded: chosen by the rule of `choose_encoding`, or forced.
Encoding = Literal["auto", "utf-8", "cp932"]


class OrderRows:
    """What an order-file reader accumulates: canonical order, line and product rows, and the
    orders it rejected (each reader decides what a rejected order is). Order and line rows go
    to :class:`TableSink` s (spilled to disk under ``spill`` when given); products stay in
    memory (a shop has far fewer products than order lines)."""

    def __init__(
        self,
        shop_id: str,
        tz: str,
        columns: Mapping[str, str],
        problems: Problems,
        links: CustomerLinks,
        spill: Path | None = None,
    ) -> None:
        self.shop_id, self.tz, self.columns = shop_id, tz, columns
        self.problems, self.links = problems, links
        self.orders = TableSink("orders", spill, tz)
        self.lines = TableSink("order_lines", spill, tz)
        self.products: dict[str, tuple[Any, dict[str, Any]]] = {}

    def product_rows(self) -> list[dict[str, Any]]:
        return [row for _, row in sorted(self.products.values(), key=lambda p: p[1]["product_id"])]

    def batch(self) -> LedgerBatch:
        """Everything accepted, as ledger tables."""
        return LedgerBatch(
            orders=self.orders.result(),
            order_lines=self.lines.result(),
            products=arrow_table("products", self.product_rows()),
            customers=arrow_columns("customers", self.links.new_customers()),
        )

    def discard(self) -> None:
        """Forget the rows accepted so far (the file is being read again)."""
        self.orders.discard()
        self.lines.discard()


class ReadResult(NamedTuple):
    """What a reader returns: the canonical tables and the rows it rejected (empty unless
    the reader was asked to skip bad rows)."""

    batch: LedgerBatch
    bad_rows: list[BadRow]


@dataclass(frozen=True)
class Record:
    """One input row: the line it starts on (Parquet: its row number) and its raw values."""

    line: int
    values: Mapping[str, Any]
    extra: tuple[str, ...] = ()  # values beyond the last header (a misaligned row)


@dataclass(frozen=True)
class SourceFile:
    """A file being read: its display name, column names and rows (a CSV file's rows are read
    from the file as they are iterated, once)."""

    name: str
    columns: tuple[str, ...]
    records: Iterable[Record]
    header_line: int = 1  # where column problems are reported (0 for Parquet: no header line)


@dataclass
class Problems:
    """Every bad value found in one file, plus which rows are rejected."""

    file: str
    rows: list[BadRow] = field(default_factory=list)

    def add(self, line: int, column: str, reason: str, value: Any = "", *,
            code: str | None = None, params: Mapping[str, object] | None = None) -> None:
        """Record a problem; ``code`` and ``params``: see :class:`~segmentry.core.errors.BadRow`."""
        self.rows.append(BadRow(self.file, line, column, reason, _shown(value), code,
                                dict(params or {})))

    def __len__(self) -> int:
        return len(self.rows)

    def reject_rest(self, records: Iterable[Record], column: str, order: str) -> None:
        """Add a row for each record of a rejected order that has no problem of its own."""
        flagged = {r.line for r in self.rows}
        for record in records:
            if record.line not in flagged:
                self.add(record.line, column, f"rejected with the rest of order {order}", order)

    def sorted(self) -> list[BadRow]:
        return sorted(self.rows, key=lambda r: (r.file, r.line, r.column))

    def raise_if_any(
        self, what: str, code: str = "bad_rows", params: Mapping[str, object] | None = None
    ) -> None:
        """Raise DataImportError listing every problem (nothing of the file is imported).

        ``what`` is where the problems are (a key of the messages below); ``code`` says what
        kind of problems they are, so that each interface gives the advice that fits (its hint
        for the code, filled with ``params``): the default is for bad values in rows (which
        can be left out), never for missing columns (they cannot).
        """
        if not self.rows:
            return
        message = {
            "header": "{file}: {count} problem(s) in the header; nothing was imported.",
            "columns": "{file}: {count} problem(s) in the columns; nothing was imported.",
            "file": "{file}: {count} problem(s) in the file; nothing was imported.",
            "orders_export":
                "{file}: {count} problem(s) in the orders export; nothing was imported.",
            "customers_export":
                "{file}: {count} problem(s) in the customers export; nothing was imported.",
        }[what]
        raise DataImportError(
            message, bad_rows=self.sorted(), code=code,
            params={**(params or {}), "file": self.file, "count": len(self.rows)},
        )


def _shown(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= 200 else text[:199] + "…"


# ---------------------------------------------------------------- files


def read_csv(path: Path, name: str | None = None, encoding: Encoding = "auto") -> SourceFile:
    """Read a CSV file's header now and its rows as they are iterated (the file is streamed).

    ``encoding``: ``"auto"`` follows the rule of :func:`choose_encoding`; ``"utf-8"`` or
    ``"cp932"`` (Shift_JIS) force one. A byte the encoding cannot decode stops the read with a
    :class:`~segmentry.core.errors.DataImportError` naming ``file:line`` and the byte.

    Rows are numbered by the physical line they start on, so a row after a multi-line quoted
    value still gets its true line number. Blank lines are skipped.
    """
    display = name or str(path)
    reader = csv.reader(_text_lines(path, display, encoding))
    try:
        header = next(reader)
    except StopIteration:
        raise DataImportError("{file} is empty.", params={"file": display}) from None
    except csv.Error as e:
        raise _not_csv(display, 1, e) from e
    columns = tuple(h.strip() for h in header)
    return SourceFile(display, columns, _records(reader, columns, display))


def choose_encoding(head: bytes) -> str:
    """The encoding of a file that starts with ``head`` (its first MiB).

    The rule: a UTF-8 byte-order mark means UTF-8; otherwise the file is UTF-8 when at least
    as many of the first MiB's non-ASCII characters are valid UTF-8 as are not (a file of
    plain ASCII is UTF-8), and Shift_JIS (``cp932``, as Japanese Excel saves it) when most
    are not. One stray byte in a UTF-8 file therefore never switches the whole file to
    Shift_JIS: it is reported where it is.

    >>> choose_encoding("山田,太郎\\n".encode()), choose_encoding("山田,太郎\\n".encode("cp932"))
    ('utf-8', 'cp932')
    >>> choose_encoding("山田".encode() + b"\\xff")
    'utf-8'
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    text = codecs.getincrementaldecoder("utf-8")("replace").decode(head, final=False)
    invalid = text.count("\ufffd")
    non_ascii = len(text) - len(text.encode("ascii", "ignore"))
    return "utf-8" if non_ascii - invalid >= invalid else "cp932"


_HEAD_BYTES = 1 << 20
_ENCODING_NAMES = {"utf-8": "UTF-8", "cp932": "Shift_JIS (cp932)"}


def _text_lines(path: Path, display: str, encoding: Encoding) -> Iterator[str]:
    """The file's physical lines as text, read and decoded one at a time.

    NOTE: splitting the bytes at ``\\n`` before decoding is exact for both encodings: the byte
    0x0A is never part of a multi-byte character in UTF-8 or Shift_JIS.
    """
    try:
        file = path.open("rb")
    except OSError as e:
        raise DataImportError("Cannot read {file}: {problem}",
                              params={"file": display, "problem": e.strerror or str(e)}) from e
    with file:
        head = file.read(_HEAD_BYTES)
        codec = choose_encoding(head) if encoding == "auto" else encoding
        file.seek(len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
        for number, raw in enumerate(file, start=1):
            try:
                yield raw.decode(codec)
            except UnicodeDecodeError as e:
                raise _undecodable(display, number, raw, e, codec, encoding) from None


def _undecodable(
    display: str, line: int, raw: bytes, error: UnicodeDecodeError, codec: str, chosen: str
) -> DataImportError:
    """The first byte ``codec`` cannot decode, as ``file:line`` and the byte; its code says
    whether the encoding was given or chosen (and which), for the interface's advice."""
    if chosen != "auto":
        code = "bad_byte_given_encoding"
    elif codec == "utf-8":
        code = "bad_byte_utf8"
    else:
        code = "bad_byte_shift_jis"
    return DataImportError(
        "{file}:{line}: byte 0x{byte} (byte {position} of the line) is not valid {encoding}; "
        "nothing was imported.",
        code=code,
        params={"file": display, "line": line, "byte": raw[error.start : error.start + 1].hex(),
                "position": error.start + 1, "encoding": _ENCODING_NAMES[codec]},
    )


def _not_csv(display: str, line: int, error: csv.Error) -> DataImportError:
    return DataImportError("{file}: line {line} is not valid CSV: {problem}",
                           params={"file": display, "line": line, "problem": str(error)})


def _records(reader: Any, columns: tuple[str, ...], display: str) -> Iterator[Record]:
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise _not_csv(display, start, e) from e
        if not any(cell.strip() for cell in row):
            continue
        extra = tuple(cell for cell in row[len(columns) :] if cell.strip())
        yield Record(start, dict(zip(columns, row, strict=False)), extra)


def read_parquet_rows(path: Path, name: str | None = None) -> SourceFile:
    """Read a Parquet file's rows as records numbered from 1 (values keep their types)."""
    display = name or str(path)
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise DataImportError("Cannot read {file} as Parquet: {problem}",
                              params={"file": display, "problem": str(e)}) from e
    return SourceFile(display, tuple(table.column_names), _parquet_records(table), header_line=0)


def _parquet_records(table: pa.Table) -> Iterator[Record]:
    """The rows a chunk at a time (a row as a dict costs ten times its Arrow size)."""
    number = 0
    for batch in table.to_batches(max_chunksize=CHUNK_ROWS):
        for row in batch.to_pylist():
            number += 1
            yield Record(number, row)


def resolve_columns(
    source: SourceFile,
    wanted: Mapping[str, Sequence[str]],
    required: Iterable[str],
    problems: Problems,
) -> dict[str, str]:
    """Map each wanted key to the first of its accepted headers present in the file.

    A required key none of whose headers is present is a problem on the header line.

    >>> f = SourceFile("x.csv", ("Fulfillment Date",), [])
    >>> resolve_columns(f, {"fulfilled_at": ("Fulfilled at", "Fulfillment Date")}, [],
    ...                 Problems("x.csv"))
    {'fulfilled_at': 'Fulfillment Date'}
    """
    present = {c.casefold(): c for c in source.columns}
    found: dict[str, str] = {}
    for key, headers in wanted.items():
        for header in headers:
            if header.casefold() in present:
                found[key] = present[header.casefold()]
                break
    for key in required:
        if key not in found:
            problems.add(source.header_line, wanted[key][0], "missing required column")
    return found


# ---------------------------------------------------------------- values


def parse_timestamp(value: Any, tz: str) -> dt.datetime | None:
    """Naive UTC datetime from text or a datetime; no offset means shop-local time.

    >>> parse_timestamp("2026-04-05T09:00:00", "Asia/Tokyo")
    datetime.datetime(2026, 4, 5, 0, 0)
    >>> parse_timestamp("", "Asia/Tokyo") is None
    True
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        stamp = value
    elif isinstance(value, dt.date):
        stamp = dt.datetime.combine(value, dt.time())
    else:
        text = str(value).strip()
        if not text:
            return None
        stamp = _parse_stamp_text(text)
    if not FIRST_YEAR <= stamp.year <= LAST_YEAR:
        raise ValueError(
            f"year {stamp.year} is out of range (dates must be in the years "
            f"{FIRST_YEAR}–{LAST_YEAR})"
        )
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=zoneinfo.ZoneInfo(tz))
    return stamp.astimezone(dt.UTC).replace(tzinfo=None)


def _parse_stamp_text(text: str) -> dt.datetime:
    match = _OFFSET.match(text)
    if match:
        offset = match["offset"].upper()
        offset = "+00:00" if offset in {"Z", "UTC"} else offset
        text = f"{match['stamp']}{offset}"
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        pass
    for pattern in _SLASHED:
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            continue
    raise ValueError("not a date and time (expected e.g. 2026-04-05 21:06:21 +0900)")


def parse_money(value: Any) -> Decimal | None:
    """A Decimal rounded half-up to cents, or None for an empty value; at most 16 digits
    before the decimal point (the ledger stores ``decimal(18, 2)``).

    >>> parse_money("-12.345")
    Decimal('-12.35')
    >>> parse_money("1e20")
    Traceback (most recent call last):
    ...
    ValueError: amount too large: at most 16 digits before the decimal point
    """
    number = _parse_decimal(value)
    if number is None:
        return None
    money = number.quantize(CENT, rounding=ROUND_HALF_UP) if fits_money(number) else number
    if not fits_money(money):  # rounding 9999999999999999.995 up makes 17 digits
        raise ValueError(_TOO_LARGE)
    return money


def fits_money(amount: Decimal) -> bool:
    """Whether an amount fits the ledger's ``decimal(18, 2)`` (16 digits before the point).

    >>> fits_money(Decimal("9999999999999999.99")), fits_money(Decimal("1E16"))
    (True, False)
    """
    return abs(amount) < MONEY_LIMIT


MONEY_LIMIT = Decimal(10) ** 16
_TOO_LARGE = "amount too large: at most 16 digits before the decimal point"
INT64 = (-(2**63), 2**63 - 1)


def _parse_decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("not a number")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    if not text:
        return None
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError("not a number") from None
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def parse_int(value: Any) -> int | None:
    """A whole number (``2``, ``2.0``), or None for an empty value.

    >>> parse_int("3")
    3
    """
    number = _parse_decimal(value)
    if number is None:
        return None
    if number.adjusted() > 18:  # NOTE: checked first: int(Decimal("1e999999999")) takes minutes
        raise ValueError(_TOO_LARGE_WHOLE)
    if number != number.to_integral_value():
        raise ValueError("not a whole number")
    whole = int(number)
    if not INT64[0] <= whole <= INT64[1]:
        raise ValueError(_TOO_LARGE_WHOLE)
    return whole


_TOO_LARGE_WHOLE = "number too large: at most 9,223,372,036,854,775,807 (a 64-bit whole number)"


def parse_bool(value: Any) -> bool | None:
    """yes/no, true/false, y/n, 1/0 (any case), or None for an empty value.

    >>> parse_bool("Yes"), parse_bool("false"), parse_bool("")
    (True, False, None)
    """
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not a yes/no value")


def parse_list(value: Any) -> list[str]:
    """Comma-separated text (or a list) as a list of non-empty, stripped strings.

    >>> parse_list(" vip, line ,,")
    ['vip', 'line']
    """
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return [text for item in items if (text := _clean(item))]


def _clean(value: Any) -> str:
    text = str(value).strip()
    return text[1:].strip() if text.startswith("'") else text


# ---------------------------------------------------------------- one row


class Cells:
    """The values of one record, read by key; a bad value is recorded and read as None.

    ``columns`` maps keys (canonical names) to the file's headers, so problems name the header
    the user sees.
    """

    def __init__(
        self, record: Record, columns: Mapping[str, str], problems: Problems, tz: str = "UTC"
    ) -> None:
        self.record = record
        self.columns = columns
        self.problems = problems
        self.tz = tz
        self.errors = 0
        if record.extra:
            self.errors += 1
            problems.add(
                record.line,
                "(after the last column)",
                "row has more values than the header",
                ",".join(record.extra),
            )

    @property
    def line(self) -> int:
        return self.record.line

    def raw(self, key: str) -> Any:
        header = self.columns.get(key)
        return None if header is None else self.record.values.get(header)

    def has(self, key: str) -> bool:
        """Whether the cell holds a value (not missing, not empty text)."""
        value = self.raw(key)
        return value is not None and not (isinstance(value, str) and not value.strip())

    def bad(self, key: str, reason: str, value: Any = "") -> None:
        self.errors += 1
        self.problems.add(self.line, self.columns.get(key, key), reason, value)

    def text(self, key: str, *, required: bool = False) -> str | None:
        """Stripped text (leading ``'`` removed), None when empty."""
        value = self.raw(key)
        text = None if value is None else _clean(value) or None
        if text is None and required:
            self.bad(key, "required value is empty")
        return text

    def texts(self, key: str) -> list[str]:
        return parse_list(self.raw(key))

    def money(self, key: str, *, required: bool = False) -> Decimal | None:
        return self._parsed(key, parse_money, required)

    def integer(self, key: str, *, required: bool = False) -> int | None:
        return self._parsed(key, parse_int, required)

    def computed_money(self, key: str, amount: Decimal | None, what: str) -> Decimal | None:
        """An amount computed from this row's values (``what`` says how), checked against the
        ledger's range like a read one; a bad one is reported on ``key``'s column."""
        if amount is not None and not fits_money(amount):
            self.bad(key, f"{what} is too large: at most 16 digits before the decimal point",
                     amount)
            return None
        return amount

    def boolean(self, key: str) -> bool | None:
        return self._parsed(key, parse_bool, False)

    def timestamp(self, key: str, *, required: bool = False) -> dt.datetime | None:
        return self._parsed(key, lambda v: parse_timestamp(v, self.tz), required)

    def _parsed(self, key: str, parse: Any, required: bool) -> Any:
        value = self.raw(key)
        try:
            result = parse(value)
        except ValueError as e:
            self.bad(key, str(e), value)
            return None
        if result is None and required:
            self.bad(key, "required value is empty")
        return result


# ---------------------------------------------------------------- orders, one at a time


class OrderGroups:
    """A file's rows grouped by order, one order at a time, in bounded memory.

    Exports write an order's rows together, so an order is complete when the next order's
    row comes. An order whose rows come back after other orders is *scattered*: its name is
    collected in :attr:`scattered` (its parts were handed out as separate orders), and the
    reader reads the file again with those names in ``gather``: their rows are then held
    until the end of the file and handed out whole. Only scattered orders are held, so memory
    grows with them, not with the file.

    >>> rows = [("#1", 2), ("#1", 3), ("#2", 4), ("#1", 5)]
    >>> groups = OrderGroups()
    >>> [(name, [r.line for r in rs]) for name, rs in groups(
    ...     (name, Record(line, {})) for name, line in rows)]
    [('#1', [2, 3]), ('#2', [4]), ('#1', [5])]
    >>> groups.scattered
    {'#1'}
    >>> again = OrderGroups(frozenset(groups.scattered))
    >>> [(name, [r.line for r in rs]) for name, rs in again(
    ...     (name, Record(line, {})) for name, line in rows)]
    [('#2', [4]), ('#1', [2, 3, 5])]
    """

    def __init__(self, gather: frozenset[str] = frozenset()) -> None:
        self.gather = gather
        self.scattered: set[str] = set()
        # NOTE: hashes, not names: a third of the memory. A collision only costs a second pass
        # that gathers an order that was not scattered, with the same result.
        self._seen: set[int] = set()

    def __call__(self, keyed: Iterable[tuple[str, Record]]) -> Iterator[tuple[str, list[Record]]]:
        held: dict[str, list[Record]] = {}
        current: str | None = None
        records: list[Record] = []
        for key, record in keyed:
            if key in self.gather:
                held.setdefault(key, []).append(record)
                continue
            if key != current:
                if current is not None:
                    yield current, records
                self._start(key)
                current, records = key, []
            records.append(record)
        if current is not None:
            yield current, records
        yield from held.items()

    def _start(self, key: str) -> None:
        digest = hash(key)
        if digest in self._seen:
            self.scattered.add(key)
        self._seen.add(digest)


class TableSink:
    """Canonical rows of one ledger table, collected as Arrow chunks of :data:`CHUNK_ROWS`
    rows: in memory, or written to a Parquet file in ``spill`` (then memory holds one chunk),
    complete with the shop-local dates of ``tz``, so the ledger writer can load the file as it is.

    >>> sink = TableSink("products", None)
    >>> sink.append({"shop_id": "s", "product_id": "sku:A"})
    >>> sink.result().column("product_id").to_pylist()
    ['sku:A']
    """

    def __init__(self, table: str, spill: Path | None, tz: str = "UTC") -> None:
        self.table, self.spill, self.tz = table, spill, tz
        self.rows: list[dict[str, Any]] = []
        self.parts: list[pa.Table] = []
        self.num_rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None

    def append(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= CHUNK_ROWS:
            self._flush()

    def _flush(self) -> None:
        chunk = arrow_table(self.table, self.rows)
        self.rows = []
        if chunk is None:
            return
        self.num_rows += chunk.num_rows
        if self.spill is None:
            self.parts.append(chunk)
            return
        chunk = add_local_dates(self.table, chunk, self.tz)
        if self._writer is None:
            self._path = self.spill / f"{self.table}-{uuid.uuid4().hex[:8]}.parquet"
            self._writer = pq.ParquetWriter(self._path, chunk.schema)
        self._writer.write_table(chunk)

    def discard(self) -> None:
        """Forget every row (a reader that reads the file again); removes the spilled file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self.rows, self.parts, self.num_rows, self._path = [], [], 0, None

    def result(self) -> TableRows | None:
        """Every row appended: an Arrow table, a :class:`SpilledTable`, or None when none."""
        self._flush()
        if self._writer is not None and self._path is not None:
            self._writer.close()
            self._writer = None
            return SpilledTable(self._path, self.num_rows, local_dates=True)
        return pa.concat_tables(self.parts) if self.parts else None


# ---------------------------------------------------------------- output


def arrow_table(table: str, rows: list[dict[str, Any]]) -> pa.Table | None:
    """Rows (dicts of canonical columns) as a conformed ledger table; None when there are none."""
    if not rows:
        return None
    names = set().union(*(row.keys() for row in rows))
    return _conformed(table, names, lambda schema: pa.Table.from_pylist(rows, schema=schema))


def arrow_columns(table: str, columns: Mapping[str, list[Any]]) -> pa.Table | None:
    """Columns (canonical name → values) as a conformed ledger table; None when empty."""
    if not columns:
        return None
    return _conformed(table, set(columns), lambda schema: pa.Table.from_pydict(columns, schema))


def _conformed(
    table: str, names: set[str], build: Callable[[pa.Schema], pa.Table]
) -> pa.Table:
    used = pa.schema([f for f in arrow_schema(table, local_dates=False) if f.name in names])
    try:
        data = build(used)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as e:
        raise DataImportError("The {table} rows cannot be stored: {problem}",
                              params={"table": table, "problem": str(e)}) from e
    return conform(table, data)
