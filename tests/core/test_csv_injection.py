"""CSV exports (the CLI's and, through the same writer, the web's; see
tests/web/test_csv_injection_web.py) neutralise spreadsheet formulas (OWASP "CSV injection"): a
customer named
``=HYPERLINK("http://x","y")`` comes out as ``'=HYPERLINK(...)`` from the CLI and the web, while
numbers (negative ones too) stay numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from segmentry.analytics.exports import to_csv
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app as cli
from segmentry.connectors.demo import generate_store

DAY = dt.date(2025, 6, 30)
FORMULA = '=HYPERLINK("http://x","y")'


def formula_store() -> dict[str, pa.Table]:
    """A small generated store whose every customer has formulas for names and tags."""
    store = generate_store(40, seed=5, end_date=DAY, shop_id="shop")
    customers = store["customers"]
    n = customers.num_rows
    names = {
        "last_name": [FORMULA] * n,
        "first_name": ["@SUM(A1:A9)"] * n,
        "tags": [["+cmd|' /C calc'!A0"]] * n,
    }
    for column, values in names.items():
        index = customers.column_names.index(column)
        customers = customers.set_column(
            index, column, pa.array(values, customers.schema.field(column).type)
        )
    store["customers"] = customers
    return store


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = formula_store()
    path = tmp_path_factory.mktemp("csv-injection") / "ws"
    ws = Workspace.create(path, shop_id="shop")
    try:
        ws.import_tables(store)
        ws.run(DAY)
        ws.add_segment("buyers", "number_of_orders >= 1")
    finally:
        ws.close()
    return path


def _first_member(text: str) -> dict[str, str]:
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows
    return rows[0]


def _check(member: dict[str, str]) -> None:
    assert member["last_name"] == "'" + FORMULA
    assert member["first_name"] == "'@SUM(A1:A9)"
    assert member["tags"] == "'+cmd|' /C calc'!A0"
    assert int(member["orders"]) >= 1  # numbers untouched


def test_cli_export_neutralises_formulas(folder: Path) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "-w",
            str(folder),
            "segments",
            "members",
            "buyers",
            "--as-of",
            DAY.isoformat(),
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    _check(_first_member(result.stdout))


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (-1200, "-1200"),
        (Decimal("-3.50"), "-3.50"),
        (-0.5, "-0.5"),
        ("-1200", "-1200"),
        ("+81 90-1234-5678", "+81 90-1234-5678"),
        ("-x", "'-x"),
        ("\tA1", "'\tA1"),
        ("\r=1", "'\r=1"),
        ("a=b", "a=b"),
        ("=1+2", "'=1+2"),
        ("@x", "'@x"),
    ],
)
def test_only_text_that_could_run_is_prefixed(value: object, written: str) -> None:
    text = to_csv([{"v": value}], ["v"]).decode()
    assert next(csv.reader(io.StringIO(text.split("\r\n", 1)[1]))) == [written]
