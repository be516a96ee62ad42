"""Push, multicast and narrowcast through the official SDK to the fake LINE platform: who got
what, how often, and what LINE counted against the monthly quota."""

from __future__ import annotations

import pytest

from segmentry.activation.line import LineClient, Quota, retry_key
from segmentry.core.errors import LineError
from segmentry.testing.line import FakeLine, user_id

from .conftest import text


def test_a_push_reaches_its_user_once(line: FakeLine, client: LineClient) -> None:
    alice, bob = line.add_user(), line.add_user()
    outcome = client.push(alice, [text("hello"), text("again")], retry_key=retry_key("s1", 1))
    assert (outcome.ok, outcome.duplicate, outcome.http_status, outcome.attempts) == \
        (True, False, 200, 1)
    assert outcome.request_id == line.requests[-1].request_id
    assert line.texts(alice) == ["hello", "again"]
    assert line.texts(bob) == []
    assert line.quota_used == 1  # LINE counts people reached, not message objects
    assert line.requests[-1].retry_key == retry_key("s1", 1)


def test_a_multicast_skips_blocked_users_silently(line: FakeLine, client: LineClient) -> None:
    users = [line.add_user() for _ in range(4)]
    line.block(users[1])
    stranger = user_id(999)  # a well-formed id of no friend of the channel
    outcome = client.multicast([*users, stranger], [text("sale")], retry_key=retry_key("s2", 1))
    assert outcome.ok and outcome.http_status == 200
    assert {u: line.count(u) for u in [*users, stranger]} == {
        users[0]: 1, users[1]: 0, users[2]: 1, users[3]: 1, stranger: 0}
    assert line.quota_used == 3
    assert client.quota() == Quota(limit=1000, used=3)


def test_a_push_to_a_blocked_user_is_accepted_and_not_delivered(
        line: FakeLine, client: LineClient) -> None:
    carol = line.add_user(blocked=True)
    outcome = client.push(carol, [text("hi")], retry_key=retry_key("s3", carol))
    assert (outcome.ok, outcome.http_status) == (True, 200)  # as LINE answers (FAQ)
    assert line.count(carol) == 0 and line.quota_used == 0


def test_a_refusal_is_recorded_with_lines_reason(line: FakeLine, client: LineClient) -> None:
    unknown = user_id(4242)
    outcome = client.push(unknown, [text("hi")], retry_key=retry_key("s4", unknown))
    assert (outcome.ok, outcome.http_status, outcome.reason, outcome.attempts) == \
        (False, 400, "Failed to send messages", 1)
    friend = line.add_user()
    outcome = client.multicast([friend, "not-a-user-id"], [text("hi")],
                               retry_key=retry_key("s4", "m"))
    assert (outcome.ok, outcome.http_status) == (False, 400)
    assert outcome.reason == "The request body has 1 error(s)"
    assert outcome.details == ("to[1]: invalid user id",)
    assert line.count(friend) == 0


def test_a_multicast_takes_at_most_500_users(line: FakeLine, client: LineClient) -> None:
    users = [user_id(n) for n in range(1, 502)]
    with pytest.raises(ValueError, match="1 to 500 user ids, not 501"):
        client.multicast(users, [text("hi")], retry_key=retry_key("s5"))
    # and the fake refuses it as LINE does, had a caller gone around the client
    status, body, _ = line.handle("POST", "/v2/bot/message/multicast",
                                  {"Authorization": f"Bearer {line.token}"},
                                  {"to": users, "messages": [text("hi")]})
    assert (status, body["details"]) == \
        (400, [{"message": "Size must be between 1 and 500", "property": "to"}])


def test_the_monthly_quota_refuses_sends_beyond_it(
        start_line: object, connect: object) -> None:
    line = start_line(monthly_quota=3)  # type: ignore[operator]
    client = connect(line)  # type: ignore[operator]
    users = [line.add_user() for _ in range(4)]
    assert client.multicast(users[:2], [text("one")], retry_key=retry_key("q", 1)).ok
    assert client.quota() == Quota(limit=3, used=2)
    with pytest.raises(LineError) as caught:  # 2 more would make 4 > 3: refused whole
        client.multicast(users[2:], [text("two")], retry_key=retry_key("q", 2))
    assert caught.value.code == "line_quota_exhausted"
    assert "monthly message quota is used up" in caught.value.message
    assert [line.count(u) for u in users] == [1, 1, 0, 0]
    assert client.push(users[2], [text("three")], retry_key=retry_key("q", 3)).ok
    assert client.quota().remaining == 0
    assert line.statuses("multicast") == [200, 429]


def test_no_limit_reads_as_none(start_line: object, connect: object) -> None:
    line = start_line(monthly_quota=None)  # type: ignore[operator]
    assert connect(line).quota() == Quota(limit=None, used=0)  # type: ignore[operator]


def test_a_narrowcast_to_an_uploaded_audience(line: FakeLine, client: LineClient) -> None:
    users = [line.add_user() for _ in range(3)]
    line.block(users[2])
    audience = client.create_audience("vip-2026-10", users)
    assert line.audience(audience) == users
    outcome = client.narrowcast(audience, [text("for vips")], retry_key=retry_key("n", 1))
    assert (outcome.ok, outcome.http_status) == (True, 202)
    assert outcome.request_id is not None
    first = client.narrowcast_progress(outcome.request_id)
    assert first.phase == "waiting" and [line.count(u) for u in users] == [0, 0, 0]
    done = client.narrowcast_progress(outcome.request_id)
    assert (done.phase, done.success, done.failure, done.target) == ("succeeded", 2, 0, 2)
    assert [line.texts(u) for u in users] == [["for vips"], ["for vips"], []]
    assert client.narrowcast_progress(outcome.request_id).success == 2  # delivered once
    again = client.narrowcast(audience, [text("for vips")], retry_key=retry_key("n", 1))
    assert (again.ok, again.duplicate, again.http_status) == (True, True, 409)
    assert again.accepted_request_id == outcome.request_id
    assert len(line.narrowcasts) == 1


@pytest.mark.parametrize(("by_file", "endpoint"), [(False, "audience_upload"),
                                                   (True, "audience_upload_file")])
def test_an_audience_upload_is_retried_and_its_refusal_is_lines_words(
        line: FakeLine, client: LineClient, by_file: bool, endpoint: str) -> None:
    # The audience part of the SDK raises an exception class of its own: a 429 or 5xx of an
    # upload is retried as any other call's, and a refusal is a LineError, not a traceback.
    users = [line.add_user() for _ in range(3)]
    line.inject("429", endpoint=endpoint)
    line.inject("503", endpoint=endpoint)
    audience = client.create_audience("vip", users, by_file=by_file)
    assert line.audience(audience) == users
    assert line.statuses(endpoint) == [429, 503, 202]
    with pytest.raises(LineError) as refused:
        client.create_audience("", users, by_file=by_file)  # LINE wants a description
    assert refused.value.code == "line_refused"


def test_an_audience_uploaded_by_file(line: FakeLine, client: LineClient) -> None:
    users = [line.add_user() for _ in range(5)]
    audience = client.create_audience("by file", users, by_file=True)
    assert line.audience(audience) == users
    assert [r.endpoint for r in line.requests] == ["audience_upload_file"]
    outcome = client.narrowcast(audience, [text("x")], retry_key=retry_key("f"),
                                max_recipients=2)
    assert outcome.request_id is not None
    client.narrowcast_progress(outcome.request_id)
    assert client.narrowcast_progress(outcome.request_id).success == 2
    assert sum(line.count(u) for u in users) == 2
