"""The web's CSV downloads neutralise spreadsheet formulas (as the CLI's do, see
tests/core/test_csv_injection.py): a customer named ``=HYPERLINK("http://x","y")`` is
downloaded as ``'=HYPERLINK(...)``, in the stable keys layout and in the Japanese one."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.web.accounts import add_user, create_token

from .conftest import served

DAY = dt.date(2025, 6, 30)
FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    store = generate_store(40, seed=5, end_date=DAY, shop_id="shop")
    customers = store["customers"]
    index = customers.column_names.index("last_name")
    store["customers"] = customers.set_column(
        index, "last_name", pa.array([FORMULA] * customers.num_rows, pa.string())
    )
    ws = Workspace.create(Path(tmp_path_factory.mktemp("csv-web")) / "ws", shop_id="shop")
    try:
        ws.import_tables(store)
        ws.run(DAY)
        ws.add_segment("buyers", "number_of_orders >= 1")
        add_user(ws.state, "m@example.com", "correct horse", "shop")
        token = create_token(ws.state, "m@example.com", "csv")
        with served(ws) as url:
            yield url, token
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("query", "column"),
    [
        ("", "last_name"),
        ("&headers=labels&bom=true", "姓"),
    ],
)
def test_member_download_neutralises_formulas(
    shop: tuple[str, str], query: str, column: str
) -> None:
    url, token = shop
    response = httpx.get(
        f"{url}/segments/buyers/members.csv?day={DAY}{query}",
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "ja"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows and {row[column] for row in rows} == {"'" + FORMULA}
    assert all(int(row[next(iter(row))]) > 0 for row in rows)  # customer ids still numbers
