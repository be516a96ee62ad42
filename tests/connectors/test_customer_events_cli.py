"""`segmentry shopify email-events FILE`, `segmentry shopify pixel` and the notice of
`segments validate` for event functions, run in-process on a workspace."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
from cli_helpers import ledger, segmentry, squeezed

from segmentry.app.workspace import Workspace

CSV = """customer_id,email,event,activity_id,occurred_at
c1,,opened,5240029206,2025-06-01T09:30:00+09:00
,Hanako@Example.jp,clicked,5240029206,2025-06-01T23:59:00
,nobody@example.jp,opened,5240029206,2025-06-02T10:00:00+09:00
"""


def _customers(ws: Path) -> None:
    with Workspace.open(ws) as w:
        w.import_tables({"customers": pa.table({
            "shop_id": ["shop", "shop"], "customer_id": ["c1", "c2"],
            "email": ["taro@example.jp", "hanako@example.jp"],
            "created_at": pa.array([dt.datetime(2025, 1, 1)] * 2, pa.timestamp("us"))})})


def test_email_events_import_once(ws: Path, tmp_path: Path) -> None:
    _customers(ws)
    path = tmp_path / "email.csv"
    path.write_text(CSV, encoding="utf-8")
    first = segmentry(ws, "shopify", "email-events", path)
    assert first.exit_code == 0, first.output
    assert "3 read" not in first.output and "2 read, 2 new" in first.output
    again = segmentry(ws, "shopify", "email-events", path)
    assert "2 read, 0 new, 2 already imported" in again.output
    rows = ledger(ws)["customer_events"]
    got = sorted((r["customer_id"], r["event"], r["activity_id"], str(r["occurred_on"]))
                 for r in rows)
    # 09:30 Tokyo is 00:30 UTC; 23:59 without a zone is the shop's (Tokyo) local time.
    assert got == [("c1", "opened", "5240029206", "2025-06-01"),
                   ("c2", "clicked", "5240029206", "2025-06-01")]
    assert {r["occurred_at"] for r in rows} == {dt.datetime(2025, 6, 1, 0, 30),
                                                dt.datetime(2025, 6, 1, 14, 59)}


def test_a_bad_row_imports_nothing(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("customer_id,event,activity_id,occurred_at\nc1,read,1,2025-06-01T00:00:00\n",
                    encoding="utf-8")
    result = segmentry(ws, "shopify", "email-events", path)
    assert result.exit_code != 0
    assert "bad.csv:2" in squeezed(result.output)
    assert ledger(ws)["customer_events"] == []


def test_validate_notes_functions_without_events(ws: Path) -> None:
    result = segmentry(ws, "segments", "validate", "shopify_email.opened MATCHES (date > -30d)")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Valid: shopify_email.opened MATCHES (date > -30d)" in text
    assert "no shopify_email.opened events have been recorded yet" in text
    plain = segmentry(ws, "segments", "validate", "number_of_orders > 1")
    assert "recorded" not in plain.output


def test_pixel_code_has_the_address_shop_and_a_kept_token(ws: Path) -> None:
    first = segmentry(ws, "shopify", "pixel", "--url", "https://crm.example.jp/")
    assert first.exit_code == 0, first.output
    assert 'const SEGMENTRY_URL = "https://crm.example.jp/pixel/events";' in first.output
    assert 'const SEGMENTRY_SHOP = "shop";' in first.output
    second = segmentry(ws, "shopify", "pixel", "--url", "https://crm.example.jp")
    assert first.output == second.output  # the same token: an installed pixel keeps working
    refused = segmentry(ws, "shopify", "pixel", "--url", "http://crm.example.jp")
    assert refused.exit_code != 0
