"""The message catalogues: gettext ``.po`` files, one per language, read with Babel.

The message id is the English text (``_("Segments")``), so code and templates read naturally
and English needs no catalogue except for the few ids that are keys rather than English
(``customers``, ``succeeded``). ``locales/ja/LC_MESSAGES/segmentry.po`` holds Japanese.

NOTE: the ``.po`` files are read as they are (Babel parses one in about 50 ms, once per
process), so there is no compile step in the build or the wheel and no ``.mo`` to keep in step.
A fuzzy or empty entry counts as untranslated (as ``msgfmt`` treats it).

>>> translator("ja")("Segments"), translator("en")("Segments"), translator("ja")("unknown id")
('セグメント', 'Segments', 'unknown id')
>>> translator("en")("succeeded"), lookup("ja", "unknown id") is None
('Succeeded', True)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

__all__ = ["DOMAIN", "LANGUAGES", "LOCALES", "N_", "catalogue", "catalogue_path", "lookup",
           "translator"]

LANGUAGES = ("ja", "en")
DOMAIN = "segmentry"
LOCALES = Path(__file__).parent / "locales"


def N_(message: str) -> str:
    """Marks ``message`` as a message id for ``pybabel extract`` (translated later, where it is
    shown), as in gettext."""
    return message


def catalogue_path(lang: str) -> Path:
    """The ``.po`` file of ``lang``."""
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def catalogue(lang: str) -> Catalog:
    """The parsed catalogue of ``lang`` (an empty one for a language without a file)."""
    path = catalogue_path(lang)
    if not path.exists():
        return Catalog(locale=lang, domain=DOMAIN)
    with path.open("rb") as file:
        return read_po(file, locale=lang, domain=DOMAIN)


@functools.cache
def _translations(lang: str) -> dict[str, str]:
    return {
        message.id: message.string
        for message in catalogue(lang)
        if isinstance(message.id, str) and isinstance(message.string, str) and message.id
        and message.string and not message.fuzzy
    }


def lookup(lang: str, message: str) -> str | None:
    """``message`` in ``lang``, or None when the catalogue has no translation of it."""
    return _translations(lang).get(message)


def translator(lang: str) -> Callable[[str], str]:
    """``_(message_id)`` for ``lang`` (an id without a translation comes back unchanged)."""
    table = _translations(lang)

    def translate(message: str) -> str:
        return table.get(message, message)

    return translate
