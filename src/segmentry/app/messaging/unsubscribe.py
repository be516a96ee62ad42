"""Unsubscribe links: a signed token naming the customer and the address a message went to,
checked by the web app before it records the unsubscription (RFC 8058 one-click included).

The signing key is made on first use and kept in the workspace's ``secrets`` file, so a link
keeps working across restarts and cannot be forged without the workspace.

>>> token = sign(b"k" * 32, "1001", "hanako@example.jp")
>>> verify(b"k" * 32, token)
('1001', 'hanako@example.jp')
>>> verify(b"x" * 32, token) is None, verify(b"k" * 32, token[:-2] + "AA") is None
(True, True)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from pathlib import Path
from urllib.parse import quote

from segmentry.core.secrets import load_secret, save_secret

__all__ = ["key_for", "link", "sign", "sign_values", "verify", "verify_values"]

_SECRET = "unsubscribe_key"


def key_for(folder: Path) -> bytes:
    """The workspace's signing key (made and stored on first use)."""
    stored = load_secret(folder, _SECRET)
    if stored is None:
        stored = secrets.token_urlsafe(32)
        save_secret(folder, _SECRET, stored)
    return stored.encode()


def sign(key: bytes, customer_id: str, email: str) -> str:
    return sign_values(key, [customer_id, email])


def verify(key: bytes, token: str) -> tuple[str, str] | None:
    """``(customer_id, email)`` of a genuine token, else None."""
    values = verify_values(key, token)
    if values is None or len(values) != 2:
        return None
    customer_id, email = values
    if not isinstance(customer_id, str) or not isinstance(email, str):
        return None
    return customer_id, email


def sign_values(key: bytes, values: list[object]) -> str:
    """A token carrying ``values`` (JSON) and their signature: what other signed links of the
    workspace use (a link click, :mod:`segmentry.app.campaigns.engagement`), each with its own
    shape so that one kind of token is never taken for another."""
    payload = _b64(json.dumps(values, ensure_ascii=False).encode())
    return f"{payload}.{_b64(_mac(key, payload))}"


def verify_values(key: bytes, token: str, *, longest: int = 2_000) -> list[object] | None:
    """The values of a genuine token, else None."""
    payload, _, mac = token.partition(".")
    if not payload or not mac or len(token) > longest:
        return None
    try:
        if not hmac.compare_digest(_unb64(mac), _mac(key, payload)):
            return None
        values = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    return values if isinstance(values, list) else None


def link(web_url: str, token: str) -> str:
    """The unsubscribe page's address for ``token``."""
    return f"{web_url.rstrip('/')}/unsubscribe?t={quote(token)}"


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
