"""A segment's two names: the **display name** people read (any text, Japanese included) and the
**key** used in URLs, Shopify tags, the CLI and the API (ASCII, stable).

A key not given is derived from the display name: an ASCII slug when the name is ASCII (full-width
letters count, they are folded first); for a name with Japanese (or any other non-ASCII) letters
the ASCII part, if any, plus a short hash of the whole name, so the same name always gives the
same key and no romanisation is guessed.

>>> derive_key("Big Spenders!")
'big-spenders'
>>> derive_key("ＶＩＰ顧客") == "vip-" + derive_key("ＶＩＰ顧客")[-6:]
True
>>> derive_key("美容液リピーター")
'seg-fc54c3'
>>> free_key("repeat-customers", {"repeat-customers", "repeat-customers-2"})
'repeat-customers-3'
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from segmentry.core.errors import SegmentError

__all__ = [
    "DISPLAY_NAME_MAX",
    "KEY_MAX",
    "SegmentNames",
    "check_display_name_free",
    "check_key",
    "clean_display_name",
    "derive_key",
    "free_display_name",
    "free_key",
    "is_key",
    "segment_names",
]

DISPLAY_NAME_MAX = 100
KEY_MAX = 100
# Letters, digits, spaces, '-', '_' and '.', starting with a letter or digit (the rule names
# followed before display names existed, so every existing name is a valid key).
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _\-.]{0,99}$")
_HASH_CHARS = 6
_SLUG_MAX = 60


def is_key(text: str) -> bool:
    """Whether ``text`` can be used as a key as it is.

    >>> is_key("line-repeaters"), is_key("美容液リピーター"), is_key("-x")
    (True, False, False)
    """
    return bool(_KEY.match(text))


def check_key(key: str) -> str:
    """``key`` when usable, else a SegmentError saying what a key may contain."""
    if not is_key(key):
        raise SegmentError(
            "{key!r} is not a usable segment key.",
            code="bad_key",
            hint="A key is used in URLs and Shopify tags: use letters a-z, digits, '-', '_' or "
            "'.', starting with a letter or digit, at most {limit} characters.",
            params={"key": key, "limit": KEY_MAX},
        )
    return key


def clean_display_name(text: str) -> str:
    """The display name as stored: trimmed (full-width spaces too), Unicode-normalised (NFC).

    >>> clean_display_name("　美容液リピーター ")
    '美容液リピーター'
    """
    name = unicodedata.normalize("NFC", text).strip()
    if not name:
        raise SegmentError(
            "A segment needs a name.",
            code="bad_display_name",
            hint="Give it a name people will recognise, e.g. 美容液リピーター or Serum repeaters.",
        )
    if len(name) > DISPLAY_NAME_MAX:
        raise SegmentError(
            "The segment name is {length} characters long; at most {limit} fit.",
            code="bad_display_name",
            params={"length": len(name), "limit": DISPLAY_NAME_MAX},
            hint="Shorten it; the description can say more.",
        )
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        raise SegmentError(
            "The segment name contains a line break or another invisible character.",
            code="bad_display_name",
            hint="Use one line of visible text.",
        )
    return name


def derive_key(display_name: str) -> str:
    """A key for a display name (see the module docstring); the same name gives the same key."""
    folded = unicodedata.normalize("NFKC", display_name).lower()
    slug = re.sub(r"[^a-z0-9]+", "-", folded).strip("-")[:_SLUG_MAX].strip("-")
    foreign = any(c.isalnum() and not c.isascii() for c in folded)
    if not foreign and slug:
        return slug
    digest = hashlib.sha256(unicodedata.normalize("NFC", display_name).encode()).hexdigest()
    return f"{slug or 'seg'}-{digest[:_HASH_CHARS]}"


def free_key(base: str, taken: Collection[str]) -> str:
    """``base``, or ``base-2``, ``base-3``… whichever no segment uses yet."""
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base[: KEY_MAX - len(str(n)) - 1]}-{n}"
    return candidate


def free_display_name(base: str, taken: Collection[str]) -> str:
    """``base``, or ``base 2``, ``base 3``… whichever no segment uses yet.

    >>> free_display_name("リピーター", {"リピーター"})
    'リピーター 2'
    """
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base[: DISPLAY_NAME_MAX - len(str(n)) - 1]} {n}"
    return candidate


@dataclass(frozen=True)
class SegmentNames:
    """A new segment's key and display name, checked and unique in the shop."""

    key: str
    display_name: str


def segment_names(
    name: str | None,
    key: str | None,
    display_name: str | None,
    taken_keys: Collection[str],
    taken_display_names: Collection[str],
) -> SegmentNames:
    """Decide a new segment's key and display name from what the caller gave.

    ``name`` is the older single name: it is the key when it can be one (and then also the
    display name unless one is given); a ``name`` that cannot be a key (「美容液リピーター」) is
    the display name and the key is derived from it. A key given alone is the display name too.

    >>> n = segment_names("美容液リピーター", None, None, {"seg-fc54c3"}, set())
    >>> n.key, n.display_name
    ('seg-fc54c3-2', '美容液リピーター')
    >>> n = segment_names("loyal", None, "ロイヤル顧客", set(), set())
    >>> n.key, n.display_name
    ('loyal', 'ロイヤル顧客')
    >>> segment_names(None, "vip", None, set(), set()).display_name  # a key alone names it too
    'vip'
    """
    given_name = display_name if display_name is not None else name if name is not None else key
    shown = clean_display_name(given_name or "")
    given = key if key is not None else name if name is not None and is_key(name) else None
    if given is not None:
        chosen = check_key(given.strip())
        if chosen in taken_keys:
            raise SegmentError(
                "A segment with the key {key!r} already exists.",
                code="duplicate_segment",
                params={"key": chosen},
                hint="Choose another key, or change that segment instead.",
            )
    else:
        chosen = free_key(derive_key(shown), taken_keys)
    check_display_name_free(shown, taken_display_names)
    return SegmentNames(chosen, shown)


def check_display_name_free(shown: str, taken: Collection[str]) -> None:
    """A SegmentError when another segment already has the display name ``shown``."""
    if shown in taken:
        raise SegmentError(
            "A segment named {name!r} already exists.",
            code="duplicate_display_name",
            params={"name": shown},
            hint="Choose another name; each segment's name must be different.",
        )
