"""Input clean-up before parsing: full-width letters and digits, and yen amounts.

A query typed with a Japanese input method often comes out in full-width forms
(``ｎｕｍｂｅｒ＿ｏｆ＿ｏｒｄｅｒｓ　＞＝　２``) or with money written as a shop manager writes
it (``¥10,000``, ``10,000円``). :func:`normalize` rewrites those into the plain forms the grammar
reads, and leaves everything else alone:

* Outside string literals only: text in quotes is data (a tag ``'ＶＩＰ'`` is a different tag
  from ``'VIP'``) and is never changed.
* Character by character with Unicode NFKC, but only where the result is one ASCII character
  (full-width ``Ａ``..``ｚ``, ``０``..``９``, ``＞＝（），：＿`` and the ideographic space);
  the minus sign ``−`` becomes ``-``. Characters NFKC would expand (``½``) are left for the
  parser to report.
* A yen amount — ``¥`` or ``￥`` before, or ``円`` after, a number with or without thousands
  separators — becomes the bare number.

The result has exactly as many characters as the input (a shortened amount is padded with
spaces), so every line and column an error reports points at the text the user typed.

>>> normalize("ｎｕｍｂｅｒ＿ｏｆ＿ｏｒｄｅｒｓ　＞＝　２")
'number_of_orders >= 2'
>>> normalize("amount_spent >= ¥10,000 AND customer_tags CONTAINS 'ＶＩＰ'")
"amount_spent >= 10000   AND customer_tags CONTAINS 'ＶＩＰ'"
>>> normalize("orders_placed MATCHES (total > 5,000円)")
'orders_placed MATCHES (total > 5000  )'
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["full_width_literals", "normalize"]

_WIDE_QUOTE = "\uff07"  # ＇
_QUOTES = ("'", _WIDE_QUOTE)
_MINUS = {"\u2212": "-", "\u2010": "-", "\u2011": "-"}
_AMOUNT = r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
_YEN = re.compile(rf"[¥￥]\s*{_AMOUNT}|{_AMOUNT}\s*円")


def normalize(text: str) -> str:
    """``text`` with full-width forms and yen amounts outside string literals made plain
    (see the module docstring); the length is unchanged."""
    pieces: list[str] = []
    for outside, piece in _split_literals(text):
        pieces.append(_yen_amounts(_narrow(piece)) if outside else piece)
    return "".join(pieces)


def full_width_literals(text: str) -> list[str]:
    """The quoted literals of ``text`` with full-width letters or digits in them, which
    :func:`normalize` keeps as written (and which then match only text written the same way):
    worth pointing out, since a store's tags and codes are rarely full-width.

    >>> full_width_literals("customer_tags CONTAINS 'ｖｉｐ' AND customer_tags CONTAINS '会員'")
    ["'ｖｉｐ'"]
    """
    return [
        piece for outside, piece in _split_literals(text)
        if not outside and any(_narrow_char(c) != c and _narrow_char(c).isalnum()
                               for c in piece)
    ]


def _split_literals(text: str) -> list[tuple[bool, str]]:
    """``(outside, piece)`` runs: text outside quotes, and quoted literals.

    A literal runs to its closing quote (a backslash escapes the next character) or, unclosed,
    to the end of its line, as the grammar reads it. A literal in full-width quotes
    (``＇ＶＩＰ＇``) closes with a full-width quote; its quotes become ``'`` and its text is kept.
    """
    runs: list[tuple[bool, str]] = []
    start = i = 0
    while i < len(text):
        if text[i] not in _QUOTES:
            i += 1
            continue
        runs.append((True, text[start:i]))
        end = _literal_end(text, i)
        literal = text[i:end]
        if text[i] == _WIDE_QUOTE:
            closed = len(literal) > 1 and literal.endswith(_WIDE_QUOTE)
            literal = "'" + literal[1 : len(literal) - closed] + ("'" if closed else "")
        runs.append((False, literal))
        start = i = end
    runs.append((True, text[start:]))
    return runs


def _literal_end(text: str, start: int) -> int:
    """Just past the literal opened at ``start`` (or the end of its line if it is unclosed)."""
    quote, end = text[start], start + 1
    while end < len(text) and text[end] not in (quote, "\n"):
        end += 2 if text[end] == "\\" and quote == "'" else 1
    if end < len(text) and text[end] == quote:
        end += 1
    return min(end, len(text))


def _narrow(piece: str) -> str:
    return "".join(_narrow_char(c) for c in piece)


def _narrow_char(char: str) -> str:
    if char.isascii():
        return char
    if char in _MINUS:
        return _MINUS[char]
    plain = unicodedata.normalize("NFKC", char)
    if plain == "\u00a5":  # ￥ → ¥: kept for the yen amounts below
        return plain
    return plain if len(plain) == 1 and plain.isascii() else char


def _yen_amounts(piece: str) -> str:
    def plain(match: re.Match[str]) -> str:
        whole, fraction = (match[1], match[2]) if match[1] else (match[3], match[4])
        number = whole.replace(",", "") + (fraction or "")
        return number.ljust(len(match[0]))

    return _YEN.sub(plain, piece)
