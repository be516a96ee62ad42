"""Exactly once under failure: the retry key, 429 and 5xx tried again with back-off, a lost
answer, and a bad channel token that stops the send."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from linebot.v3 import messaging

from segmentry.activation.line import LineClient, retry_key
from segmentry.core.errors import LineError
from segmentry.testing.line import FakeLine

from .conftest import Clock, text


def test_a_repeated_retry_key_is_answered_409_and_not_delivered_twice(
        line: FakeLine) -> None:
    alice = line.add_user()
    key = retry_key("send 1", "batch 1")
    request = messaging.PushMessageRequest(to=alice, messages=[messaging.TextMessage(text="a")])
    config = messaging.Configuration(host=line.url, access_token=line.token)
    with messaging.ApiClient(config) as api_client:
        api = messaging.MessagingApi(api_client)
        first = api.push_message_with_http_info(request, x_line_retry_key=key)
        with pytest.raises(messaging.ApiException) as caught:
            api.push_message_with_http_info(request, x_line_retry_key=key)
    assert first.status_code == 200
    assert caught.value.status == 409
    assert caught.value.headers["x-line-accepted-request-id"] == \
        first.headers["x-line-request-id"]
    assert '"message": "The retry key is already accepted"' in caught.value.body
    assert line.texts(alice) == ["a"]
    assert line.quota_used == 1


def test_a_retry_key_must_be_a_uuid(line: FakeLine) -> None:
    alice = line.add_user()
    status, body, _ = line.handle(
        "POST", "/v2/bot/message/push",
        {"Authorization": f"Bearer {line.token}", "X-Line-Retry-Key": "send-1"},
        {"to": alice, "messages": [text("a")]})
    assert status == 400 and "X-Line-Retry-Key" in body["message"]
    assert line.count(alice) == 0


def test_a_lost_answer_is_retried_under_the_same_key_and_delivered_once(
        line: FakeLine, client: LineClient, clock: Clock) -> None:
    users = [line.add_user() for _ in range(3)]
    line.inject("500_delivered", endpoint="multicast")  # LINE sent it; the answer was a 500
    outcome = client.multicast(users, [text("once")], retry_key=retry_key("s", 1))
    assert (outcome.ok, outcome.duplicate, outcome.http_status, outcome.attempts) == \
        (True, True, 409, 2)
    accepted = [r for r in line.requests if r.status == 500]
    assert outcome.accepted_request_id == accepted[0].request_id
    assert [line.texts(u) for u in users] == [["once"]] * 3
    assert line.quota_used == 3
    assert clock.slept == [1.0]


def test_a_dropped_connection_is_retried_and_delivered_once(
        line: FakeLine, client: LineClient, clock: Clock) -> None:
    alice = line.add_user()
    line.inject("drop", endpoint="push")
    outcome = client.push(alice, [text("hi")], retry_key=retry_key("d"))
    assert (outcome.ok, outcome.duplicate, outcome.attempts) == (True, False, 2)
    assert line.texts(alice) == ["hi"] and clock.slept == [1.0]


def test_an_answer_that_never_comes_is_retried(
        line: FakeLine, client: LineClient, clock: Clock) -> None:
    alice = line.add_user()
    line.inject("timeout", endpoint="push")  # the fake holds the request, then hangs up
    outcome = client.push(alice, [text("late")], retry_key=retry_key("late"))
    assert (outcome.ok, outcome.attempts) == (True, 2)
    assert line.texts(alice) == ["late"] and clock.slept == [1.0]


def test_429_then_success_honours_retry_after(
        start_line: Callable[..., FakeLine], connect: Callable[..., LineClient],
        clock: Clock) -> None:
    line = start_line(retry_after=2.5)
    client = connect(line)
    alice = line.add_user()
    line.inject("429", times=2, endpoint="push")
    outcome = client.push(alice, [text("hi")], retry_key=retry_key("r"))
    assert (outcome.ok, outcome.attempts) == (True, 3)
    assert clock.slept == [2.5, 2.5]
    assert line.statuses("push") == [429, 429, 200]
    assert line.texts(alice) == ["hi"]


def test_without_retry_after_the_backoff_doubles(
        line: FakeLine, client: LineClient, clock: Clock) -> None:
    alice = line.add_user()
    line.inject("503", times=3, endpoint="push")
    assert client.push(alice, [text("hi")], retry_key=retry_key("b")).attempts == 4
    assert clock.slept == [1.0, 2.0, 4.0]
    assert client.backoff.retries == 3 and client.backoff.waited == 7.0
    assert line.count(alice) == 1


def test_the_rate_limit_answers_429_and_the_client_waits_it_out(
        start_line: Callable[..., FakeLine], connect: Callable[..., LineClient],
        clock: Clock) -> None:
    line = start_line(rate_limits={"push": (2, 10.0)})
    client = connect(line)
    users = [line.add_user() for _ in range(3)]
    for n, user in enumerate(users):
        assert client.push(user, [text("hi")], retry_key=retry_key("rl", n)).ok
    # the third waited 1 + 2 + 4 + 8 = 15 s of the fake's clock for the 10 s window to pass
    assert line.statuses("push") == [200, 200, 429, 429, 429, 429, 200]
    assert clock.slept == [1.0, 2.0, 4.0, 8.0]
    assert [line.count(u) for u in users] == [1, 1, 1]
    # other endpoints have their own window
    assert client.quota().used == 3


def test_5xx_past_the_retries_stops_with_lines_channel_named(
        line: FakeLine, connect: Callable[..., LineClient], clock: Clock) -> None:
    client = connect(line, max_retries=2)
    alice = line.add_user()
    line.inject("502", times=5, endpoint="push")
    with pytest.raises(LineError) as caught:
        client.push(alice, [text("hi")], retry_key=retry_key("x"))
    error = caught.value
    assert error.code == "line_unavailable"
    assert error.message == ("LINE (Shop LINE) is not answering the push call: HTTP 502 "
                             "(Internal server error), 3 attempts.")
    assert line.count(alice) == 0 and clock.slept == [1.0, 2.0]


def test_a_bad_token_stops_the_send_and_names_the_token(
        line: FakeLine, connect: Callable[..., LineClient], clock: Clock) -> None:
    client = connect(line, token="revoked-token-9f3a")
    alice = line.add_user()
    with pytest.raises(LineError) as caught:
        client.push(alice, [text("hi")], retry_key=retry_key("t"))
    error = caught.value
    assert error.code == "line_invalid_token"
    assert error.message.startswith(
        "LINE did not accept the channel access token of Shop LINE (ending in 9f3a) on the "
        "push call: Authentication failed due to the following reason: invalid token.")
    assert error.message.endswith("The send was stopped; nothing more was sent.")
    assert "revoked-token" not in str(error)
    assert line.statuses("push") == [401] and clock.slept == []
    assert line.count(alice) == 0
