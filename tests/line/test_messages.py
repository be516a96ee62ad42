"""Messages are checked with the SDK's models (and LINE's lengths) before anything is sent;
the fake checks them as LINE does, for anything that goes around the client."""

from __future__ import annotations

from typing import Any

import pytest

from segmentry.activation.line import LineClient, retry_key, validate_messages
from segmentry.core.errors import LineError
from segmentry.testing.line import FakeLine

from .conftest import text

BUBBLE = {"type": "bubble", "body": {"type": "box", "layout": "vertical",
                                     "contents": [{"type": "text", "text": "山田様"}]}}


def flex(contents: Any, alt: str = "お知らせ") -> dict[str, Any]:
    return {"type": "flex", "altText": alt, "contents": contents}


@pytest.mark.parametrize(("messages", "expected"), [
    ([text("x")] * 6, "A LINE send takes 1 to 5 messages, not 6."),
    ([], "A LINE send takes 1 to 5 messages, not 0."),
    ([text("ok"), text("🍎" * 2501)], "Message 2 is not one LINE takes: its text is 5002 "
     "characters long (LINE counts UTF-16 code units); LINE takes at most 5000."),
    ([flex(BUBBLE, alt="あ" * 1501)], "Message 1 is not one LINE takes: its alternative text "
     "is 1501 characters long (LINE counts UTF-16 code units); LINE takes at most 1500."),
])
def test_messages_line_would_refuse_are_refused_before_sending(
        messages: list[dict[str, Any]], expected: str, line: FakeLine,
        client: LineClient) -> None:
    alice = line.add_user()
    with pytest.raises(LineError) as caught:
        client.push(alice, messages, retry_key=retry_key("v"))
    assert (caught.value.code, caught.value.message) == ("line_invalid_message", expected)
    assert line.requests == []  # nothing reached LINE


@pytest.mark.parametrize("message", [
    {"type": "greeting", "text": "hi"},
    {"type": "text"},
    flex({"type": "poster"}),
])
def test_the_sdks_models_refuse_a_malformed_message(message: dict[str, Any]) -> None:
    with pytest.raises(LineError, match=r"^Message 1 is not one LINE takes: the SDK's model "
                       r"refuses it") as caught:
        validate_messages([message])
    assert caught.value.code == "line_invalid_message"


def test_text_and_flex_pass_and_arrive(line: FakeLine, client: LineClient) -> None:
    alice = line.add_user()
    messages = [text("🍎" * 2500), flex({"type": "carousel", "contents": [BUBBLE, BUBBLE]})]
    assert client.push(alice, messages, retry_key=retry_key("ok")).ok
    delivered = line.delivered[alice]
    assert [d.message["type"] for d in delivered] == ["text", "flex"]
    assert delivered[1].message["contents"]["contents"][0]["body"]["contents"][0]["text"] == \
        "山田様"


@pytest.mark.parametrize(("messages", "details"), [
    ([text("x" * 5001)], [{"message": "Length must be between 0 and 5000",
                           "property": "messages[0].text"}]),
    ([text("a")] * 6, [{"message": "Size must be between 1 and 5", "property": "messages"}]),
    ([flex({"type": "carousel", "contents": [BUBBLE] * 13})],
     [{"message": "Size must be between 1 and 12", "property": "messages[0].contents.contents"}]),
    ([flex({"type": "bubble", "body": {"type": "box", "contents": []}}, alt="x" * 1501)],
     [{"message": "Length must be between 0 and 1500", "property": "messages[0].altText"},
      {"message": "must be one of [horizontal, vertical, baseline]",
       "property": "messages[0].contents.body.layout"}]),
])
def test_the_fake_answers_lines_400_body(messages: list[dict[str, Any]],
                                          details: list[dict[str, str]],
                                          line: FakeLine) -> None:
    alice = line.add_user()
    status, body, headers = line.handle("POST", "/v2/bot/message/push",
                                        {"Authorization": f"Bearer {line.token}"},
                                        {"to": alice, "messages": messages})
    assert status == 400
    assert body == {"message": f"The request body has {len(details)} error(s)",
                    "details": details}
    assert "x-line-request-id" in headers
    assert line.count(alice) == 0
