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

__all__ = ["key_for", "link", "sign", "verify"]

_SECRET = "unsubscribe_key"


def key_for(folder: Path) -> bytes:
    """The workspace's signing key (made and stored on first use)."""
    stored = load_secret(folder, _SECRET)
    if stored is None:
        stored = secrets.token_urlsafe(32)
        save_secret(folder, _SECRET, stored)
    return stored.encode()


def sign(key: bytes, customer_id: str, email: str) -> str:
    payload = _b64(json.dumps([customer_id, email], ensure_ascii=False).encode())
    return f"{payload}.{_b64(_mac(key, payload))}"


def verify(key: bytes, token: str) -> tuple[str, str] | None:
    """``(customer_id, email)`` of a genuine token, else None."""
    payload, _, mac = token.partition(".")
    if not payload or not mac or len(token) > 2_000:
        return None
    try:
        if not hmac.compare_digest(_unb64(mac), _mac(key, payload)):
            return None
        customer_id, email = json.loads(_unb64(payload))
    except (ValueError, TypeError):
        return None
    if not isinstance(customer_id, str) or not isinstance(email, str):
        return None
    return customer_id, email


def link(web_url: str, token: str) -> str:
    """The unsubscribe page's address for ``token``."""
    return f"{web_url.rstrip('/')}/unsubscribe?t={quote(token)}"


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
