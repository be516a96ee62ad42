"""``POST /line/webhook`` over real HTTP: the fake LINE sends signed follow and unfollow
webhooks to the running web app; a follower without a customer, linked later by a CSV file,
then blocks; a redelivered event is stored once; a wrong signature or an oversized body is
refused and nothing is stored."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentry.activation.line.plugin import CHANNEL_SECRET
from segmentry.analytics.line import line_summary
from segmentry.app.workspace import Workspace
from segmentry.core import config
from segmentry.core.config import LineSettings
from segmentry.core.secrets import save_secret
from segmentry.ledger.line import LineLink, link_line_users
from segmentry.testing.http import serving
from segmentry.testing.line import FakeLine
from segmentry.testing.line.platform import user_id
from segmentry.testing.line.server import webhook_event
from segmentry.web.app import create_app
from segmentry.web.routes.line_webhook import MAX_BODY

from .conftest import line_events

U1, U7 = user_id(1), user_id(7)


@pytest.fixture
def served(shop: Workspace) -> Iterator[tuple[Workspace, FakeLine, str]]:
    """The shop with a [line] account whose secret is the fake's, served over HTTP."""
    folder = Path(shop.folder)
    shop.close()
    config.save_section(folder, "line", LineSettings(name="Shop LINE"))
    with FakeLine() as line:
        save_secret(folder, CHANNEL_SECRET, line.channel_secret)
        ws = Workspace.open(folder)
        try:
            with serving(create_app(folder, workspace=ws)) as base:
                yield ws, line, f"{base}/line/webhook"
        finally:
            ws.close()


def test_a_follower_is_linked_later_and_blocks(served: tuple[Workspace, FakeLine, str]) -> None:
    ws, line, url = served
    today = ws.today()
    answer = line.follow(U1, url)
    assert (answer.status_code, answer.text) == (200, "ok")
    assert line_events(ws) == [{"event": "follow", "line_user_id": U1, "customer_id": None,
                                "source": "webhook"}]
    assert _summary(ws, today) == (1, 0, 1)  # k3's column; U1 follows, nobody's

    link_line_users(ws.warehouse, "shop", [LineLink("k1", U1)], source="csv",
                    at=dt.datetime.now(dt.UTC).replace(tzinfo=None), tz="Asia/Tokyo")
    assert _summary(ws, today) == (2, 0, 0)
    assert line.unfollow(U1, url).status_code == 200
    assert _summary(ws, today) == (2, 1, 0)
    assert [e["event"] for e in line_events(ws)] == ["follow", "link", "unfollow"]
    assert line.channel.blocked == {U1}  # the fake agrees: U1 blocked the account


def test_a_redelivered_event_is_stored_once(served: tuple[Workspace, FakeLine, str]) -> None:
    ws, line, url = served
    event = webhook_event("follow", U7)
    assert line.send_webhook(url, [event]).status_code == 200
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    assert line.send_webhook(url, [redelivered, event]).status_code == 200
    assert len(line_events(ws)) == 1


def test_what_is_refused_stores_nothing(served: tuple[Workspace, FakeLine, str]) -> None:
    ws, line, url = served
    event = webhook_event("follow", U7)
    wrong = line.send_webhook(url, [event], secret="not-the-channel-secret")
    assert (wrong.status_code, wrong.text) == (401, "line_bad_signature")
    big = json.dumps({"destination": line.bot_user_id, "events": [event],
                      "padding": "x" * MAX_BODY}).encode()
    assert line.send_webhook(url, [], body=big).status_code == 413
    not_json = line.send_webhook(url, [], body=b"not json")
    assert not_json.status_code == 400
    assert line.send_webhook(url, []).status_code == 200  # the console's "Verify"
    assert line_events(ws) == []


def _summary(ws: Workspace, day: dt.date) -> tuple[int, int, int]:
    s = line_summary(ws.warehouse, day)
    return s.linked, s.blocked, s.unlinked_followers
