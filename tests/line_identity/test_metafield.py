"""``[shopify] line_user_id_metafield``: the sync reads the customer metafield and links the
customer to that LINE user; an unchanged value writes nothing, an emptied one unlinks, and a
value that is not a LINE user id is ignored (fake Shopify, real HTTP)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.testing.line.platform import user_id
from segmentry.testing.shopify import FakeShopify

from .conftest import line_events

CREATED = dt.datetime(2026, 1, 10, 3, 0)
U1, U2 = user_id(1), user_id(2)


def _customer(cid: str, value: str | None, at: dt.datetime = CREATED) -> dict[str, Any]:
    fields = {"metafield_keys": ["line.user_id"], "metafield_values": [value]} if value else {}
    return {"customer_id": cid, "email": f"{cid}@example.jp", "created_at": CREATED,
            "updated_at": at, **fields}


def test_the_sync_links_from_the_metafield(tmp_path: Path) -> None:
    with FakeShopify(timeout_seconds=0.5) as shop:
        for row in (_customer("1", U1), _customer("2", "not-a-line-id"), _customer("3", None)):
            shop.data.add_customer(row)
        folder = tmp_path / "ws"
        ws = Workspace.create(folder, shop_id="shop")
        connect_workspace(ws, shop.shop, shop.token, endpoint=shop.url)
        ws.close()
        config = folder / "segmentry.toml"
        text = re.sub(r"(customer_metafields = .*)", r'\1\nline_user_id_metafield = "line.user_id"',
                      config.read_text(encoding="utf-8"))
        config.write_text(text, encoding="utf-8")
        ws = Workspace.open(folder)
        try:
            ws.run()  # the first sync (a bulk operation)
            assert line_events(ws) == [{"event": "link", "line_user_id": U1,
                                        "customer_id": "1", "source": "metafield"}]
            later = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            shop.data.add_customer(_customer("1", None, later))  # emptied
            shop.data.add_customer(_customer("3", U2, later))  # given
            ws.run()  # a page sync
            assert sorted((e["event"], e["customer_id"], e["line_user_id"])
                          for e in line_events(ws)) == [
                ("link", "1", U1), ("link", "3", U2), ("unlink", "1", U1)]
            ws.add_segment("on-line", "line_linked = true")
            assert ws.members("on-line")["customer_id"].to_pylist() == ["3"]
        finally:
            ws.close()
