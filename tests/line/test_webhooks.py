"""Follow and unfollow webhooks, signed by the fake as LINE signs them, verified with the SDK's
parser by a real HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from linebot.v3.webhooks import FollowEvent, UnfollowEvent

from segmentry.activation.line import parse_webhook
from segmentry.core.errors import LineError
from segmentry.testing.http import serving
from segmentry.testing.line import FakeLine, signature, webhook_event


class Receiver:
    """A web endpoint that keeps the events of webhooks whose signature matches."""

    def __init__(self, secret: str) -> None:
        self.events: list[Any] = []
        self.refused: list[str] = []
        self.app = FastAPI()

        @self.app.post("/line/webhook")
        async def webhook(request: Request) -> Response:
            try:
                self.events += parse_webhook(await request.body(),
                                             request.headers.get("X-Line-Signature"), secret)
            except LineError as e:
                self.refused.append(e.code)
                return Response(status_code=400)
            return Response(status_code=200)


@pytest.fixture
def receiver(line: FakeLine) -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver(line.channel_secret)
    with serving(receiver.app) as url:
        yield receiver, f"{url}/line/webhook"


def test_follow_and_unfollow_arrive_verified(line: FakeLine,
                                             receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    alice = "U" + "a" * 32
    assert line.follow(alice, url).status_code == 200
    assert line.unfollow(alice, url).status_code == 200
    assert line.follow(alice, url).status_code == 200
    assert [type(e) for e in got.events] == [FollowEvent, UnfollowEvent, FollowEvent]
    assert [e.source.user_id for e in got.events] == [alice] * 3
    assert [e.follow.is_unblocked for e in got.events if isinstance(e, FollowEvent)] == \
        [False, True]
    assert got.refused == []
    assert alice in line.channel.followers and alice not in line.channel.blocked


def test_a_wrong_signature_is_refused(line: FakeLine, receiver: tuple[Receiver, str]) -> None:
    got, url = receiver
    event = webhook_event("follow", "U" + "b" * 32)
    assert line.send_webhook(url, [event], secret="another secret").status_code == 400
    body = json.dumps({"destination": line.bot_user_id, "events": [event]}).encode()
    tampered = body.replace(b"U" + b"b" * 32, b"U" + b"c" * 32)
    good = signature(body, line.channel_secret)
    assert parse_webhook(body, good, line.channel_secret)[0].source.user_id == "U" + "b" * 32
    with pytest.raises(LineError) as caught:
        parse_webhook(tampered, good, line.channel_secret)
    assert caught.value.code == "line_bad_signature"
    with pytest.raises(LineError, match="has no signature"):
        parse_webhook(body, None, line.channel_secret)
    assert got.events == [] and got.refused == ["line_bad_signature"]
