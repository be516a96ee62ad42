"""E-mail sends through a real SMTP server (aiosmtpd): who gets a message and who is skipped
(counted, with the reason), what the message says, its unsubscribe headers, and that asking
for the same send twice never sends twice."""

from __future__ import annotations

import datetime as dt
from email.message import EmailMessage
from urllib.parse import unquote

import pytest

from segmentry.activation.email.channel import EmailChannel
from segmentry.app.messaging.sending import ChannelDownError, SendRequest, send
from segmentry.app.messaging.unsubscribe import verify
from segmentry.app.workspace import Workspace
from segmentry.core.config import EmailSettings

from .conftest import DAY, Mailbox

KEY = b"k" * 32
NOON = dt.datetime(2026, 12, 1, 3, 0)  # 12:00 in Tokyo: outside quiet hours


def _channel(port: int, unsubscribed: frozenset[str] = frozenset()) -> EmailChannel:
    settings = EmailSettings(host="127.0.0.1", port=port, security="none",
                             from_address="news@shop.example", from_name="ショップ",
                             web_url="https://crm.shop.example")
    return EmailChannel(settings, None, KEY, lambda: unsubscribed)


def _request(key: str = "news-1", **changes: object) -> SendRequest:
    values: dict[str, object] = {
        "segment": "everyone", "day": DAY, "key": key,
        "subject": "{{ customer.honorific_name }}へのお知らせ",
        "body": "{{ customer.honorific_name }}\n前回: {{ last_order.products | join('、') }} "
                "{{ last_order.total }}\n配信停止: {{ unsubscribe_url }}",
    }
    values.update(changes)
    return SendRequest(membership_key="", **values)  # type: ignore[arg-type]


def _send(ws: Workspace, channel: EmailChannel, request: SendRequest):  # type: ignore[no-untyped-def]
    segment = ws.segment(request.segment)
    assert segment.membership_key is not None
    request = SendRequest(**{**request.__dict__, "membership_key": segment.membership_key})
    return send(ws, channel, request, now=lambda: NOON)


def _text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def test_only_subscribed_customers_get_marketing_email(
    shop: Workspace, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    report = _send(shop, _channel(port, frozenset({"ALICE@example.com"})), _request())
    # m1 subscribed; m2 not subscribed; m3 has no address; m4 unsubscribed here (any case);
    # m5 unsubscribed in Shopify.
    assert sorted(m["To"] for m in mailbox.messages) == ["hanako@example.jp"]
    assert report.counts == {"delivered": 1, "skipped": 4}
    assert report.reasons == {"not_subscribed": 2, "no_email": 1, "unsubscribed": 1}
    assert report.finished


def test_the_message_is_personal_and_carries_one_click_unsubscribe(
    shop: Workspace, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    _send(shop, _channel(port), _request())
    (message,) = mailbox.to("hanako@example.jp")
    assert message["Subject"] == "山田 花子 様へのお知らせ"
    text = _text(message)
    assert text.splitlines()[0] == "山田 花子 様"
    assert "前回: 美容液 ￥5,000" in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = message["List-Unsubscribe"]
    assert header.startswith("<https://crm.shop.example/unsubscribe?t=")
    token = header[len("<https://crm.shop.example/unsubscribe?t="):-1]
    assert verify(KEY, unquote(token)) == ("m1", "hanako@example.jp")
    # the link in the body is the same signed link
    assert f"配信停止: {header[1:-1]}" in text


def test_transactional_email_skips_consent_and_has_no_unsubscribe(
    shop: Workspace, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    report = _send(shop, _channel(port), _request(
        key="receipt", transactional=True,
        body="{{ customer.name }} 様、ご注文ありがとうございます。"))
    assert sorted(m["To"] for m in mailbox.messages) == [
        "alice@example.com", "hanako@example.jp", "ichiro@example.jp", "ken@example.jp"]
    assert report.reasons == {"no_email": 1}
    assert all(m["List-Unsubscribe"] is None for m in mailbox.messages)


def test_the_same_send_asked_twice_sends_once(shop: Workspace, smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    first = _send(shop, _channel(port), _request(key="twice"))
    second = _send(shop, _channel(port), _request(key="twice"))
    assert sorted(m["To"] for m in mailbox.messages) == ["alice@example.com", "hanako@example.jp"]
    assert first.send_id == second.send_id and second.counts == {"delivered": 2, "skipped": 3}


def test_an_unreachable_server_stops_the_send_and_a_rerun_delivers(
    shop: Workspace, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    with pytest.raises(ChannelDownError) as caught:
        _send(shop, _channel(1), _request(key="later"))  # nothing listens on port 1
    assert caught.value.code == "channel_unavailable" and "127.0.0.1:1" in caught.value.message
    report = _send(shop, _channel(port), _request(key="later"))
    assert sorted(m["To"] for m in mailbox.messages) == ["alice@example.com", "hanako@example.jp"]
    assert report.counts == {"delivered": 2, "skipped": 3}
