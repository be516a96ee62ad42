"""How the fake LINE platform checks message objects: the limits LINE documents, answered with
LINE's error body (``{"message": "The request body has N error(s)", "details": [...]}``).

Lengths are counted in UTF-16 code units, as LINE counts them
(https://developers.line.biz/en/docs/messaging-api/text-character-count/): 🍎 is two.

    >>> problems = message_problems([{"type": "text", "text": "x" * 5001}])
    >>> problems
    [{'message': 'Length must be between 0 and 5000', 'property': 'messages[0].text'}]
    >>> error_body(problems)["message"]
    'The request body has 1 error(s)'
    >>> message_problems([{"type": "text", "text": "🍎" * 2500}])
    []
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_MESSAGES", "MAX_TEXT", "error_body", "message_problems", "utf16_length"]

MAX_MESSAGES = 5  # message objects per request
MAX_TEXT = 5000  # a text message's text
MAX_ALT_TEXT = 1500  # a Flex message's altText
MAX_CAROUSEL = 12  # bubbles in a Flex carousel
_TYPES = frozenset({"text", "textV2", "sticker", "image", "video", "audio", "location",
                    "imagemap", "template", "flex"})
_COMPONENTS = frozenset({"box", "button", "image", "video", "icon", "text", "span",
                         "separator", "filler", "spacer"})
_LAYOUTS = frozenset({"horizontal", "vertical", "baseline"})

Problem = dict[str, str]


def utf16_length(text: str) -> int:
    """Length as LINE counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def error_body(problems: list[Problem]) -> dict[str, Any]:
    """LINE's 400 body for validation problems."""
    return {"message": f"The request body has {len(problems)} error(s)", "details": problems}


def message_problems(messages: Any, where: str = "messages") -> list[Problem]:
    """Every problem LINE would report in a ``messages`` array (empty: it is acceptable)."""
    if not isinstance(messages, list):
        return [_problem("must be specified", where)]
    if not 1 <= len(messages) <= MAX_MESSAGES:
        return [_problem(f"Size must be between 1 and {MAX_MESSAGES}", where)]
    problems: list[Problem] = []
    for i, message in enumerate(messages):
        problems += _message(message, f"{where}[{i}]")
    return problems


def _problem(message: str, where: str) -> Problem:
    return {"message": message, "property": where}


def _message(message: Any, where: str) -> list[Problem]:
    if not isinstance(message, Mapping) or message.get("type") not in _TYPES:
        return [_problem("invalid message type", f"{where}.type")]
    if message["type"] == "text":
        return _text(message.get("text"), f"{where}.text", MAX_TEXT)
    if message["type"] == "flex":
        return [*_text(message.get("altText"), f"{where}.altText", MAX_ALT_TEXT),
                *_container(message.get("contents"), f"{where}.contents")]
    return []


def _text(value: Any, where: str, limit: int) -> list[Problem]:
    if not isinstance(value, str):
        return [_problem("must be specified", where)]
    if utf16_length(value) > limit:
        return [_problem(f"Length must be between 0 and {limit}", where)]
    return []


def _container(value: Any, where: str) -> list[Problem]:
    if not isinstance(value, Mapping):
        return [_problem("must be specified", where)]
    if value.get("type") == "bubble":
        return _bubble(value, where)
    if value.get("type") == "carousel":
        bubbles = value.get("contents")
        if not isinstance(bubbles, list) or not 1 <= len(bubbles) <= MAX_CAROUSEL:
            return [_problem(f"Size must be between 1 and {MAX_CAROUSEL}", f"{where}.contents")]
        return [p for i, b in enumerate(bubbles) for p in _bubble(b, f"{where}.contents[{i}]")]
    return [_problem("must be one of [bubble, carousel]", f"{where}.type")]


def _bubble(value: Any, where: str) -> list[Problem]:
    if not isinstance(value, Mapping) or value.get("type") != "bubble":
        return [_problem("must be bubble", f"{where}.type")]
    return [p for block in ("header", "hero", "body", "footer") if block in value
            for p in _component(value[block], f"{where}.{block}")]


def _component(value: Any, where: str) -> list[Problem]:
    if not isinstance(value, Mapping) or value.get("type") not in _COMPONENTS:
        return [_problem("invalid component type", f"{where}.type")]
    kind = value["type"]
    if kind == "box":
        problems = [] if value.get("layout") in _LAYOUTS else \
            [_problem("must be one of [horizontal, vertical, baseline]", f"{where}.layout")]
        children = value.get("contents")
        if not isinstance(children, list):
            return [*problems, _problem("must be specified", f"{where}.contents")]
        return problems + [p for i, c in enumerate(children)
                           for p in _component(c, f"{where}.contents[{i}]")]
    if kind == "text" and not isinstance(value.get("text"), str) \
            and not isinstance(value.get("contents"), list):
        return [_problem("must be specified", f"{where}.text")]
    if kind in ("image", "icon") and not isinstance(value.get("url"), str):
        return [_problem("must be specified", f"{where}.url")]
    if kind == "button" and not isinstance(value.get("action"), Mapping):
        return [_problem("must be specified", f"{where}.action")]
    return []
