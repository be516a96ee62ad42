"""Files that once crashed or corrupted an import (issue 9, item 7): text encodings, dates out
of range, money beyond the ledger's decimal(18,2), and a bad row at the end of a big file.

Each test names the defect it guards against; expectations are written out by hand.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_helpers import ledger, segmentry, squeezed

from segmentry.bench.imports import write_orders_export
from segmentry.cli.hints import error_text
from segmentry.connectors import records
from segmentry.connectors.generic import read_generic
from segmentry.connectors.records import choose_encoding
from segmentry.connectors.shopify_csv import read_customers_export, read_orders_export
from segmentry.core.errors import DataImportError
from segmentry.ledger import store
from segmentry.ledger.store import SpilledTable

CUSTOMERS_HEADER = "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Tags\n"
PEOPLE = [
    ("1", "花子", "山田", "hanako@example.jp"),
    ("2", "太郎", "佐藤", "taro@example.jp"),
    ("3", "ｹﾝｼﾞ", "髙橋", "kenji@example.jp"),  # half-width kana and a cp932-only kanji
]


def customers_text(people: list[tuple[str, str, str, str]]) -> str:
    rows = [f"{cid},{first},{last},{email},yes,\n" for cid, first, last, email in people]
    return CUSTOMERS_HEADER + "".join(rows)


def names(path: Path, **options: Any) -> list[tuple[str, str]]:
    batch, _ = read_customers_export(path, shop_id="s", **options)
    assert batch.customers is not None
    rows = batch.customers.to_pylist()
    return [(r["last_name"], r["first_name"]) for r in rows]


EXPECTED_NAMES = [("山田", "花子"), ("佐藤", "太郎"), ("髙橋", "ｹﾝｼﾞ")]


# ---------------------------------------------------------------- encodings


def test_a_stray_byte_in_utf8_is_reported_where_it_is(tmp_path: Path) -> None:
    """Defect: one stray byte made the whole UTF-8 file decode as cp932 (garbled names)."""
    data = bytearray(customers_text(PEOPLE).encode("utf-8"))
    line3 = data.index(b"2,")  # the row of person 2 is line 3 (line 1: the header)
    data[line3 + 2 : line3 + 2] = b"\xff"  # before 太郎: byte 3 of the line
    path = tmp_path / "customers_export.csv"
    path.write_bytes(bytes(data))
    with pytest.raises(DataImportError) as caught:
        read_customers_export(path, shop_id="s")
    message, hint = error_text(caught.value)  # as the CLI says it
    assert f"{path}:3: byte 0xff (byte 3 of the line) is not valid UTF-8" in message
    assert "--encoding cp932" in (hint or "")  # the way out when the file really is Shift_JIS


def test_utf8_without_the_stray_byte_reads_its_names(tmp_path: Path) -> None:
    path = tmp_path / "customers_export.csv"
    path.write_bytes(customers_text(PEOPLE).encode("utf-8"))
    assert names(path) == EXPECTED_NAMES


def test_utf8_with_bom_reads_its_names(tmp_path: Path) -> None:
    path = tmp_path / "customers_export.csv"
    path.write_bytes(b"\xef\xbb\xbf" + customers_text(PEOPLE).encode("utf-8"))
    assert names(path) == EXPECTED_NAMES


def test_a_shift_jis_file_reads_its_japanese_names(tmp_path: Path) -> None:
    path = tmp_path / "customers_export.csv"
    path.write_bytes(customers_text(PEOPLE).encode("cp932"))
    assert names(path) == EXPECTED_NAMES


def test_an_undecodable_byte_in_shift_jis_is_reported_where_it_is(tmp_path: Path) -> None:
    # 0x81 0x20: a Shift_JIS lead byte followed by a space is no character (line 4, byte 3).
    data = customers_text(PEOPLE).encode("cp932").replace(b"3,", b"3,\x81 ", 1)
    path = tmp_path / "customers_export.csv"
    path.write_bytes(data)
    with pytest.raises(DataImportError, match=r":4: byte 0x81 \(byte 3 of the line\) is not "
                       r"valid Shift_JIS \(cp932\)"):
        read_customers_export(path, shop_id="s")


def test_a_forced_encoding_wins(tmp_path: Path) -> None:
    # 花 is 0x89 0xD4 in Shift_JIS: read as UTF-8 on demand, its first byte is refused.
    path = tmp_path / "customers_export.csv"
    path.write_bytes(customers_text(PEOPLE[:1]).encode("cp932"))
    assert names(path, encoding="cp932") == [("山田", "花子")]
    refused = r":2: byte 0x89 \(byte 3 of the line\) is not valid UTF-8"
    with pytest.raises(DataImportError, match=refused):
        read_customers_export(path, shop_id="s", encoding="utf-8")


def test_the_encoding_rule() -> None:
    japanese = "顧客名,山田花子,佐藤太郎\n"
    assert choose_encoding(japanese.encode("cp932")) == "cp932"
    assert choose_encoding(japanese.encode("utf-8")) == "utf-8"
    assert choose_encoding(b"plain,ascii\n") == "utf-8"
    # one stray byte against six valid UTF-8 characters: still UTF-8
    assert choose_encoding(japanese.encode("utf-8") + b"\x93") == "utf-8"
    # a multi-byte character cut at the end of the first MiB is not counted as invalid
    assert choose_encoding("山".encode()[:2]) == "utf-8"


# ---------------------------------------------------------------- through the command


def test_import_command_takes_an_encoding(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "customers_export.csv"
    path.write_bytes(customers_text(PEOPLE[:1]).encode("cp932"))
    refused = segmentry(ws, "import", path, "--encoding", "utf-8")
    assert refused.exit_code == 1
    assert squeezed(f"{path}:2: byte 0x89") in squeezed(refused.output)
    assert ledger(ws)["customers"] == []
    result = segmentry(ws, "import", path, "--encoding", "cp932")
    assert result.exit_code == 0, result.output
    [customer] = ledger(ws)["customers"]
    assert (customer["last_name"], customer["first_name"]) == ("山田", "花子")


# ---------------------------------------------------------------- values out of range

ORDERS_HEADER = (
    "Name,Email,Financial Status,Total,Created at,Lineitem quantity,Lineitem name,"
    "Lineitem price,Lineitem sku\n"
)


def order_rows(count: int, start: int = 1) -> str:
    """``count`` orders of two lines each, the second line with the order columns blank."""
    rows = []
    for n in range(start, start + count):
        rows.append(f"#{n},c{n % 97}@example.jp,paid,1500,2026-01-05 10:00:00 +0900,"
                    f"1,Serum,1000,SERUM\n")
        rows.append(f"#{n},c{n % 97}@example.jp,,,2026-01-05 10:00:00 +0900,1,Mask,500,MASK\n")
    return "".join(rows)


def orders_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "orders_export.csv"
    path.write_text(ORDERS_HEADER + body, encoding="utf-8")
    return path


def read_problems(path: Path) -> list[str]:
    with pytest.raises(DataImportError) as caught:
        read_orders_export(path, shop_id="s", tz="Asia/Tokyo")
    return [str(row) for row in caught.value.bad_rows]


def test_a_date_in_year_1_is_a_row_problem(tmp_path: Path) -> None:
    """Defect: 0001-01-01 gave a traceback (OverflowError converting to UTC)."""
    body = order_rows(1) + "#9,a@x.jp,paid,100,0001-01-01,1,Serum,100,SERUM\n"
    path = orders_file(tmp_path, body)
    assert read_problems(path) == [
        f"{path}:4: column 'Created at': year 1 is out of range (dates must be in the years "
        "1900–2199) (value '0001-01-01')"
    ]


@pytest.mark.parametrize(
    ("stamp", "year"), [("1899-12-31 23:59:59 +0900", 1899), ("2200-01-01", 2200),
                        ("9999-12-31T23:59:59Z", 9999)]
)
def test_years_outside_1900_to_2199_are_row_problems(tmp_path: Path, stamp: str,
                                                      year: int) -> None:
    path = orders_file(tmp_path, f"#9,a@x.jp,paid,100,{stamp},1,Serum,100,SERUM\n")
    [problem] = read_problems(path)
    assert problem.startswith(f"{path}:2: column 'Created at': year {year} is out of range")


def test_the_first_and_last_accepted_years(tmp_path: Path) -> None:
    body = ("#1,a@x.jp,paid,100,1900-01-01 00:00:00 +0000,1,Serum,100,SERUM\n"
            "#2,a@x.jp,paid,100,2199-12-31 23:59:59 +0000,1,Serum,100,SERUM\n")
    batch, _ = read_orders_export(orders_file(tmp_path, body), shop_id="s", tz="Asia/Tokyo")
    assert batch.orders is not None
    assert [t.isoformat() for t in batch.orders.column("processed_at").to_pylist()] == [
        "1900-01-01T00:00:00", "2199-12-31T23:59:59"
    ]


def test_money_beyond_the_ledger_is_a_row_problem(tmp_path: Path) -> None:
    """Defect: 10^20 failed only when written, without file:line."""
    body = order_rows(1) + "#9,a@x.jp,paid,100000000000000000000,2026-01-05,1,Serum,100,SERUM\n"
    path = orders_file(tmp_path, body)
    assert read_problems(path) == [
        f"{path}:4: column 'Total': amount too large: at most 16 digits before the decimal "
        "point (value '100000000000000000000')"
    ]


def test_the_largest_amount_the_ledger_holds_is_accepted(tmp_path: Path) -> None:
    body = "#1,a@x.jp,paid,9999999999999999.99,2026-01-05,1,Serum,9999999999999999.99,S\n"
    batch, _ = read_orders_export(orders_file(tmp_path, body), shop_id="s", tz="Asia/Tokyo")
    assert batch.orders is not None
    assert batch.orders.column("total").to_pylist() == [Decimal("9999999999999999.99")]
    # rounded to cents, one more digit appears: refused
    body = "#1,a@x.jp,paid,9999999999999999.995,2026-01-05,1,Serum,1,S\n"
    [problem] = read_problems(orders_file(tmp_path, body))
    assert ":2: column 'Total': amount too large" in problem


def test_a_line_total_beyond_the_ledger_is_a_row_problem(tmp_path: Path) -> None:
    # each value fits; price × quantity (2 × 10^15 × 10) does not
    body = "#1,a@x.jp,paid,100,2026-01-05,10,Serum,2000000000000000,S\n"
    path = orders_file(tmp_path, body)
    assert read_problems(path) == [
        f"{path}:2: column 'Lineitem quantity': price × quantity − discount is too large: at "
        "most 16 digits before the decimal point (value '20000000000000000.00')"
    ]


@pytest.mark.parametrize("quantity", ["9223372036854775808", "-9223372036854775809", "1e400"])
def test_quantities_beyond_64_bits_are_row_problems(tmp_path: Path, quantity: str) -> None:
    path = orders_file(tmp_path, f"#1,a@x.jp,paid,100,2026-01-05,{quantity},Serum,1,S\n")
    [problem] = read_problems(path)
    assert problem.startswith(f"{path}:2: column 'Lineitem quantity': number too large")


def test_generic_files_check_the_same_ranges(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,processed_at,total\n"
        "A1,c1,0001-01-01,100\n"
        "A2,c1,2026-01-05,1e20\n"
        "A3,c1,2026-01-05,100\n",
        encoding="utf-8",
    )
    with pytest.raises(DataImportError) as caught:
        read_generic(path, mapping={}, rows="auto", shop_id="s", tz="Asia/Tokyo")
    assert [(r.line, r.column, r.reason[:23]) for r in caught.value.bad_rows] == [
        (2, "processed_at", "year 1 is out of range "),
        (3, "total", "amount too large: at mo"),
    ]


# ---------------------------------------------------------------- streaming, in chunks


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 100 rows, so that a file of a few hundred rows is written in several."""
    monkeypatch.setattr(records, "CHUNK_ROWS", 100)
    monkeypatch.setattr(store, "CHUNK_ROWS", 100)
    return 100


def test_a_big_file_is_spilled_in_chunks_and_reads_the_same(
    tmp_path: Path, small_chunks: int
) -> None:
    path = orders_file(tmp_path, order_rows(250))
    spill = tmp_path / "spill"
    spill.mkdir()
    in_memory, _ = read_orders_export(path, shop_id="s", tz="Asia/Tokyo")
    spilled, _ = read_orders_export(path, shop_id="s", tz="Asia/Tokyo", spill=spill)
    assert isinstance(spilled.orders, SpilledTable)
    assert isinstance(spilled.order_lines, SpilledTable)
    assert (spilled.orders.num_rows, spilled.order_lines.num_rows) == (250, 500)
    # 250 orders in chunks of 100: three row groups on disk, three chunks read back
    assert pq.ParquetFile(spilled.orders.path).metadata.num_row_groups == 3
    assert [c.num_rows for c in spilled.order_lines.chunks()] == [100, 100, 100, 100, 100]
    for table in ("orders", "order_lines"):
        back = pa.concat_tables(getattr(spilled, table).chunks())
        expected = getattr(in_memory, table)
        assert back.select(expected.column_names).to_pylist() == expected.to_pylist()
    assert spilled.orders.local_dates and spilled.order_lines.local_dates


def test_spilled_rows_carry_the_shop_local_dates(tmp_path: Path) -> None:
    """The ledger writer loads a spilled file as it is, so its local dates are there."""
    sink = records.TableSink("orders", tmp_path, "Asia/Tokyo")
    utc = dt.datetime(2026, 1, 31, 15, 30)  # 00:30 on 1 February in Tokyo
    sink.append({"shop_id": "s", "order_id": "1", "processed_at": utc, "total": Decimal(1)})
    spilled = sink.result()
    assert isinstance(spilled, SpilledTable) and spilled.local_dates
    back = pq.read_table(spilled.path)
    canonical = store.arrow_schema("orders", local_dates=False).names
    assert back.column_names == [*canonical, "processed_on", "cancelled_on"]
    assert back.select(["processed_at", "processed_on", "cancelled_on"]).to_pylist() == [
        {"processed_at": utc, "processed_on": dt.date(2026, 2, 1), "cancelled_on": None}]


def test_a_bad_row_at_the_end_of_a_multi_chunk_file_writes_nothing(
    ws: Path, tmp_path: Path, small_chunks: int
) -> None:
    first = orders_file(tmp_path, order_rows(3, start=900))
    assert segmentry(ws, "import", first).exit_code == 0
    before = ledger(ws)
    assert len(before["orders"]) == 3
    bad = tmp_path / "big" / "orders_export.csv"
    bad.parent.mkdir()
    bad.write_text(ORDERS_HEADER + order_rows(300) + "#301,a@x.jp,paid,100,2026-01-05,-1,S,1,S\n",
                   encoding="utf-8")
    result = segmentry(ws, "import", bad)
    assert result.exit_code == 1
    assert squeezed(f"{bad}:602: column 'Lineitem quantity': quantity is negative") in squeezed(
        result.output)
    assert ledger(ws) == before


def test_a_failure_while_writing_chunks_leaves_the_ledger_as_it_was(
    ws: Path, tmp_path: Path, small_chunks: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert segmentry(ws, "import", orders_file(tmp_path, order_rows(3, start=900))).exit_code == 0
    before = ledger(ws)
    calls = {"n": 0}
    real = store.add_local_dates

    def failing(table: str, data: pa.Table, tz: str) -> pa.Table:
        calls["n"] += 1
        if calls["n"] == 4:  # customers, products, then the orders' second chunk
            raise RuntimeError("disk full")
        return real(table, data, tz)

    monkeypatch.setattr(store, "add_local_dates", failing)
    path = tmp_path / "big" / "orders_export.csv"
    path.parent.mkdir()
    path.write_text(ORDERS_HEADER + order_rows(300), encoding="utf-8")
    result = segmentry(ws, "import", path)
    assert result.exit_code == 1
    assert "nothingwaschanged:diskfull" in squeezed(result.output)
    assert calls["n"] == 4
    monkeypatch.setattr(store, "add_local_dates", real)
    assert ledger(ws) == before


def test_an_order_whose_rows_are_far_apart_is_read_whole(tmp_path: Path) -> None:
    together = order_rows(5)
    rows = together.splitlines(keepends=True)
    # order #2's second line moved to the end, after three other orders
    scattered = rows[:3] + rows[4:] + rows[3:4]
    path = orders_file(tmp_path, "".join(scattered))
    batch, bad = read_orders_export(path, shop_id="s", tz="Asia/Tokyo")
    assert bad == []
    assert batch.orders is not None and batch.order_lines is not None
    assert sorted(batch.orders.column("name").to_pylist()) == ["#1", "#2", "#3", "#4", "#5"]
    lines = [(r["order_id"], r["line_id"], r["title"]) for r in batch.order_lines.to_pylist()]
    assert sorted(lines) == [
        (f"#{n}", str(i), title) for n in range(1, 6) for i, title in ((1, "Serum"), (2, "Mask"))
    ]
    totals = {r["name"]: r["total"] for r in batch.orders.to_pylist()}
    assert totals["#2"] == Decimal("1500.00")


def test_an_order_twice_far_apart_is_still_reported_twice(tmp_path: Path) -> None:
    body = order_rows(3) + "#1,z@x.jp,paid,900,2026-02-01,1,Serum,900,SERUM\n"
    path = orders_file(tmp_path, body)
    assert read_problems(path) == [
        f"{path}:8: column 'Name': order #1 appears twice (first row also on line 2) "
        "(value '#1')"
    ]


def test_a_generic_order_row_twice_far_apart_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,processed_at,total\n"
        "A1,c1,2026-01-05,100\nA2,c1,2026-01-05,100\nA3,c1,2026-01-05,100\n"
        "A1,c2,2026-01-06,200\n",
        encoding="utf-8",
    )
    with pytest.raises(DataImportError) as caught:
        read_generic(path, mapping={}, rows="order", shop_id="s", tz="Asia/Tokyo")
    assert [str(r) for r in caught.value.bad_rows] == [
        f"{path}:5: column 'order_id': order A1 appears twice (also on line 2) (value 'A1')"
    ]


def test_the_benchmark_file_is_a_valid_orders_export(tmp_path: Path) -> None:
    """The import benchmark measures a file every row of which imports."""
    path = tmp_path / "orders_export.csv"
    rows = write_orders_export(path, 0.25)
    assert 0.25 * 2**20 <= path.stat().st_size < 0.26 * 2**20
    batch, bad = read_orders_export(path, shop_id="s", tz="Asia/Tokyo")
    assert bad == []
    assert batch.order_lines is not None and batch.order_lines.num_rows == rows
    assert batch.orders is not None
    names = batch.orders.column("name").to_pylist()
    assert names[:2] == ["#1001", "#1002"] and len(names) == len(set(names))
