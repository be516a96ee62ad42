"""Message objects checked with the official SDK's models before anything is sent.

The SDK's models hold the shape (types, required fields, at most 5 messages a request); the
lengths LINE documents but the models do not hold are checked here, counted in UTF-16 code
units as LINE counts them (https://developers.line.biz/en/docs/messaging-api/text-character-count/).

    >>> [type(m).__name__ for m in validate_messages([{"type": "text", "text": "こんにちは"}])]
    ['TextMessage']
    >>> validate_messages([{"type": "text", "text": "x" * 5001}])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    segmentry.core.errors.LineError: Message 1 is not one LINE takes: its text is 5001 ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from linebot.v3.messaging import FlexMessage, Message, TextMessage
from pydantic.v1 import ValidationError

from segmentry.core.errors import LineError, Text

__all__ = ["MAX_ALT_TEXT", "MAX_MESSAGES", "MAX_TEXT", "MessageInput", "validate_messages"]

MAX_MESSAGES = 5  # message objects in one request
MAX_TEXT = 5000  # a text message's text
MAX_ALT_TEXT = 1500  # a Flex message's altText

MessageInput: TypeAlias = Mapping[str, Any] | Message


def validate_messages(messages: Sequence[MessageInput]) -> list[Message]:
    """``messages`` (LINE's JSON message objects, or the SDK's models) as the SDK's models;
    :class:`LineError` ``line_invalid_message`` names the first that LINE would refuse."""
    if not 1 <= len(messages) <= MAX_MESSAGES:
        raise LineError(
            "A LINE send takes 1 to {most} messages, not {count}.",
            code="line_invalid_message", params={"most": MAX_MESSAGES, "count": len(messages)})
    return [_model(i, m) for i, m in enumerate(messages, start=1)]


def _model(number: int, message: MessageInput) -> Message:
    try:
        model = message if isinstance(message, Message) else Message.from_dict(dict(message))
    except (ValidationError, ValueError, TypeError, AttributeError) as e:
        raise _invalid(number, Text("the SDK's model refuses it ({problem})",
                                    {"problem": _first_line(e)})) from e
    if isinstance(model, TextMessage):
        _check_length(number, Text("its text"), model.text, MAX_TEXT)
    elif isinstance(model, FlexMessage):
        _check_length(number, Text("its alternative text"), model.alt_text, MAX_ALT_TEXT)
    return model


def _check_length(number: int, what: Text, text: str, most: int) -> None:
    length = len(text.encode("utf-16-le")) // 2
    if length > most:
        raise _invalid(number, Text(
            "{what} is {length} characters long (LINE counts UTF-16 code units); LINE takes "
            "at most {most}", {"what": what, "length": length, "most": most}))


def _invalid(number: int, why: Text) -> LineError:
    return LineError("Message {number} is not one LINE takes: {why}.",
                     code="line_invalid_message", params={"number": number, "why": why})


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return " ".join(text.splitlines()[:3]) if text else type(error).__name__
