"""Members and metrics as CSV files a CRM manager opens in Excel: the columns, read back and
compared with figures worked out from the generated store with pandas (not with the engine)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from segmentry.analytics.exports import MEMBER_COLUMNS, METRIC_COLUMNS, to_csv
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.connectors.demo import generate_store

DAY = dt.date(2025, 6, 30)
EARLIER = dt.date(2025, 3, 31)
TOKYO = "Asia/Tokyo"
BOM = "\ufeff".encode()


@pytest.fixture(scope="module")
def store() -> dict[str, pa.Table]:
    return generate_store(300, seed=5, end_date=DAY, shop_id="shop")


@pytest.fixture(scope="module")
def folder(store: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("exports") / "ws"
    ws = Workspace.create(path, shop_id="shop")
    try:
        ws.import_tables(store)
        ws.run(DAY)
        ws.add_segment("repeat", "number_of_orders >= 2")
    finally:
        ws.close()
    return path


@pytest.fixture
def ws(folder: Path) -> Iterator[Workspace]:
    workspace = Workspace.open(folder)
    try:
        yield workspace
    finally:
        workspace.close()


def _local_day(stamps: pd.Series) -> pd.Series:
    """Naive-UTC timestamps as local dates in Tokyo."""
    return stamps.dt.tz_localize("UTC").dt.tz_convert(TOKYO).dt.date


def expected_figures(store: dict[str, pa.Table], day: dt.date) -> pd.DataFrame:
    """Per customer, as of the end of ``day``: orders, net amount, first and last order day."""
    o = store["orders"].to_pandas()
    o = o[o.customer_id.notna()]
    processed, cancelled = _local_day(o.processed_at), _local_day(o.cancelled_at)
    valid = o[(processed <= day) & (o.cancelled_at.isna() | (cancelled > day))].copy()
    valid["net"] = valid.total - valid.refunded
    valid["on"] = _local_day(valid.processed_at)
    return valid.groupby("customer_id").agg(
        orders=("order_id", "count"), amount_spent=("net", "sum"),
        first_order_date=("on", "min"), last_order_date=("on", "max"))


def _customers(store: dict[str, pa.Table]) -> dict[str, dict[str, Any]]:
    return {row["customer_id"]: row for row in store["customers"].to_pylist()}


def _check_members(rows: list[dict[str, Any]], store: dict[str, pa.Table], day: dt.date) -> None:
    """``rows`` are the repeat customers on ``day``, each with the figures pandas finds."""
    people, figures = _customers(store), expected_figures(store, day)
    assert [r["customer_id"] for r in rows] == sorted(figures.index[figures.orders >= 2])
    for row in rows:
        want, person = figures.loc[row["customer_id"]], people[row["customer_id"]]
        assert (row["orders"], row["amount_spent"]) == (want.orders, want.amount_spent)
        assert row["first_order_date"] == want.first_order_date
        assert row["last_order_date"] == want.last_order_date
        assert (row["last_name"], row["first_name"], row["email"], row["phone"]) == (
            person["last_name"], person["first_name"], person["email"], person["phone"])
        assert row["tags"] == ", ".join(person["tags"])
        assert row["email_consent"] == (person["email_marketing_state"] == "SUBSCRIBED")
        assert row["line_linked"] == (person["line_user_id"] is not None)


def test_member_rows_match_the_ledger_on_every_day(ws: Workspace,
                                                   store: dict[str, pa.Table]) -> None:
    for day in (DAY, EARLIER):
        rows, shown_day = ws.member_details("repeat", day)
        assert shown_day == day
        _check_members(rows, store, day)


def test_member_rows_on_each_engine(warehouse_url: str, tmp_path: Path,
                                    store: dict[str, pa.Table]) -> None:
    url = None if warehouse_url.startswith("duckdb") else warehouse_url
    ws = Workspace.create(tmp_path / "ws", shop_id="shop", warehouse_url=url)
    try:
        ws.import_tables(store)
        ws.run(DAY)
        ws.add_segment("repeat", "number_of_orders >= 2")
        _check_members(ws.member_details("repeat", EARLIER)[0], store, EARLIER)
    finally:
        ws.close()


def _cli(folder: Path, *args: str) -> bytes:
    result = CliRunner().invoke(app, [*args, "-w", str(folder)])
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


def _read(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def test_cli_members_csv_with_a_bom_reads_back(folder: Path,
                                               store: dict[str, pa.Table]) -> None:
    body = _cli(folder, "segments", "members", "repeat", "--format", "csv", "--bom")
    assert body.startswith(BOM) and body[3:].split(b"\r\n", 1)[0].decode() == ",".join(
        MEMBER_COLUMNS)
    rows = {r["customer_id"]: r for r in _read(body)}
    figures = expected_figures(store, DAY)
    repeaters = figures[figures.orders >= 2]
    assert set(rows) == set(repeaters.index)
    people = _customers(store)
    # The most loyal customer, one of the fewest orders, and a LINE-linked one, by hand.
    linked = [c for c in repeaters.index if people[c]["line_user_id"] is not None]
    for customer in (repeaters.orders.idxmax(), repeaters.orders.idxmin(), linked[0]):
        row, want = rows[customer], repeaters.loc[customer]
        assert int(row["orders"]) == want.orders
        assert Decimal(row["amount_spent"]) == want.amount_spent
        assert row["first_order_date"] == want.first_order_date.isoformat()
        assert row["last_order_date"] == want.last_order_date.isoformat()
        assert (row["last_name"], row["first_name"]) == (
            people[customer]["last_name"], people[customer]["first_name"])
    assert rows[linked[0]]["line_linked"] == "true"
    without = _cli(folder, "segments", "members", "repeat", "--format", "csv")
    assert not without.startswith(BOM) and without == body[3:]


def test_cli_metrics_csv_counts_the_members_of_each_day(folder: Path, ws: Workspace) -> None:
    ws.close()  # the CLI opens the workspace itself
    body = _cli(folder, "segments", "metrics", "repeat", "--format", "csv", "--bom")
    assert body.startswith(BOM)
    rows = _read(body)
    assert list(rows[0]) == list(METRIC_COLUMNS)
    by_day = {r["day"]: r for r in rows}
    assert rows[-1]["day"] == DAY.isoformat()
    through = _read(_cli(folder, "segments", "metrics", "repeat", "--format", "csv",
                         "--as-of", EARLIER.isoformat()))
    assert through[-1]["day"] == EARLIER.isoformat() and len(through) < len(rows)
    again = Workspace.open(folder)
    try:
        for day in (DAY, EARLIER):
            count = again.members("repeat", day).num_rows
            assert int(by_day[day.isoformat()]["customers"]) == count
    finally:
        again.close()


def test_csv_cells() -> None:
    rows: list[dict[str, Any]] = [{"a": True, "b": Decimal("12000.00"), "c": Decimal("49.90"),
                                   "d": dt.date(2025, 6, 1), "e": None, "f": "佐藤, 花子"}]
    body = to_csv(rows, "abcdef", list("ABCDEF"), bom=True, yes_no=("はい", "いいえ"))
    expected = '\ufeffA,B,C,D,E,F\r\nはい,12000,49.90,2025-06-01,,"佐藤, 花子"\r\n'
    assert body.decode("utf-8") == expected
