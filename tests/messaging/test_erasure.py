"""An erased customer leaves nothing in the messaging tables: the messages sent to them keep
their counts but lose their address and content, a message still waiting (quiet hours) is
never sent, and their unsubscription, rich-menu link and clicked addresses go. Checked the way
the Shopify erasure test checks the warehouse: a byte search of the whole workspace folder,
which finds the values before."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from segmentry.activation.email.channel import EmailChannel
from segmentry.app.erasure import erase_customer, finish_erasures
from segmentry.app.messaging.sending import SendRequest, deliver, send
from segmentry.app.workspace import Workspace
from segmentry.core.config import EmailSettings
from segmentry.store import engagement, outbox, rich_menu_links, unsubscriptions
from segmentry.testing.line.platform import user_id

from .conftest import DAY, Mailbox

NOON = dt.datetime(2026, 12, 1, 3, 0)  # 12:00 in Tokyo
NIGHT = dt.datetime(2026, 12, 1, 13, 0)  # 22:00 in Tokyo: inside the default quiet hours
NEXT_NOON = dt.datetime(2026, 12, 2, 3, 0)
HANAKO = ("hanako@example.jp", "山田", "花子", user_id(1))  # m1's personal values
LINK = "https://shop.example/welcome?email=hanako@example.jp"


def _channel(port: int) -> EmailChannel:
    settings = EmailSettings(host="127.0.0.1", port=port, security="none",
                             from_address="news@shop.example", web_url="https://crm.shop.example")
    return EmailChannel(settings, None, b"k" * 32)


def _request(ws: Workspace, key: str) -> SendRequest:
    segment = ws.segment("everyone")
    assert segment.membership_key is not None
    return SendRequest(segment="everyone", day=DAY, key=key, membership_key=segment.membership_key,
                       subject="{{ customer.honorific_name }}へ",
                       body="{{ customer.honorific_name }} {{ customer.email }}")


def _found(folder: Path) -> set[str]:
    """Which of m1's values any file under ``folder`` holds, byte for byte (UTF-8)."""
    found = set()
    for root, _, files in os.walk(folder):
        for name in files:
            data = (Path(root) / name).read_bytes()
            found |= {v for v in HANAKO if v.encode() in data}
    return found


def test_an_erased_customer_leaves_no_message_behind_and_gets_none_later(
    shop: Workspace, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    sent = send(shop, _channel(port), _request(shop, "news"), now=lambda: NOON)
    waiting = send(shop, _channel(port), _request(shop, "late"), now=lambda: NIGHT)
    assert sent.counts["delivered"] == 2 and waiting.counts["pending"] == 2  # m1 and m4
    with shop.state.begin() as conn:
        unsubscriptions.record(conn, HANAKO[0], "m1", "page", at=NOON)
        rich_menu_links.linked(conn, [rich_menu_links.Link(HANAKO[3], "m1", "everyone", "rm-1")],
                               at=NOON)
        assert engagement.record_click(conn, sent.send_id, "m1", LINK, at=NOON)
        assert engagement.record_click(conn, sent.send_id, "m4", "https://shop.example/", at=NOON)
    shop.state.dispose()  # the write-ahead log folded into the file, as a closed store has it
    assert _found(Path(shop.folder)) == set(HANAKO)

    erase_customer(shop, "m1")
    assert finish_erasures(shop) == 1

    assert _found(Path(shop.folder)) == set()
    with shop.state.begin() as conn:
        # The send's figures stay: m1 and m4 delivered, the three others skipped as before.
        assert outbox.counts(conn, sent.send_id) == {"delivered": 2, "skipped": 3}
        rows = {r.customer_id: r for r in outbox.log(conn, waiting.send_id)}
        assert (rows["m1"].status, rows["m1"].reason, rows["m1"].address) == ("skipped", "erased",
                                                                              None)
        assert rows["m4"].status == "pending"
        assert unsubscriptions.addresses(conn) == set()
        assert rich_menu_links.links(conn) == {}
    later = deliver(shop, _channel(port), waiting.send_id, now=lambda: NEXT_NOON)
    assert later.counts == {"delivered": 1, "skipped": 4}  # m4; m1 (erased) and the three
    assert len(mailbox.to("hanako@example.jp")) == 1  # the first send's, never the late one
    assert len(mailbox.to("alice@example.com")) == 2
    assert _clicks(shop, sent.send_id) == 2  # both clicks still counted


def _clicks(ws: Workspace, send_id: int) -> int:
    """Clicks recorded for the send, counted in plain SQL."""
    with ws.state.connect() as conn:
        return int(conn.exec_driver_sql(
            "SELECT count(*) FROM email_clicks WHERE send_id = ?", (send_id,)).scalar() or 0)
