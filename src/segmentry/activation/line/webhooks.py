"""LINE webhooks, verified and parsed by the official SDK's ``WebhookParser``.

LINE signs each webhook: ``X-Line-Signature`` is the base64 HMAC-SHA256 of the raw body, keyed
with the channel secret (https://developers.line.biz/en/reference/messaging-api/#signature-validation).
A body whose signature does not match is refused with :class:`LineError`
``line_bad_signature`` and nothing in it is read.

    >>> import base64, hashlib, hmac
    >>> body = b'{"destination": "U0", "events": []}'
    >>> good = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    >>> parse_webhook(body, good, "secret")
    []
    >>> parse_webhook(body, good, "another secret")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    segmentry.core.errors.LineError: The LINE webhook's signature does not match ...
"""

from __future__ import annotations

from typing import Any

from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError

from segmentry.core.errors import LineError

__all__ = ["SIGNATURE_HEADER", "parse_webhook"]

SIGNATURE_HEADER = "X-Line-Signature"


def parse_webhook(body: bytes | str, signature: str | None, channel_secret: str) -> list[Any]:
    """The SDK's event objects of a webhook ``body`` whose ``signature`` (the
    ``X-Line-Signature`` header) matches ``channel_secret``."""
    if not signature:
        raise LineError("The LINE webhook has no signature; it was ignored.",
                        code="line_bad_signature")
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    try:
        events: list[Any] = WebhookParser(channel_secret).parse(text, signature)
    except InvalidSignatureError as e:
        raise LineError("The LINE webhook's signature does not match the channel secret; it "
                        "was ignored.", code="line_bad_signature") from e
    except (ValueError, KeyError, TypeError) as e:
        raise LineError("The LINE webhook's body is not LINE's JSON: {problem}",
                        code="line_bad_webhook", params={"problem": str(e)}) from e
    return events
