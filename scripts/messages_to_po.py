"""One-off (issue 10, item 8): the hand-made catalogue of segmentry/web/messages.py as gettext
``.po`` files in segmentry/i18n/locales. Kept in the history only; run from the repository root
with the old messages.py still in place."""

from __future__ import annotations

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from segmentry.i18n.catalogue import catalogue_path
from segmentry.i18n.errors import _UNKNOWN, GISTS
from segmentry.web import messages


def _write(lang: str, entries: dict[str, str]) -> None:
    catalog = Catalog(locale=lang, domain="segmentry", project="segmentry", version="0.1.0",
                      copyright_holder="segmentry", msgid_bugs_address="", fuzzy=False)
    for msgid, msgstr in entries.items():
        catalog.add(msgid, msgstr)
    path = catalogue_path(lang)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(file, catalog, width=100, no_location=True)


def main() -> None:
    ja: dict[str, str] = {}
    for table in (messages.JA, messages.ERRORS):
        for msgid, msgstr in table.items():
            # NOTE: "Customers" is 顧客数 on the pages but 顧客 (a Shopify admin page) in one
            # import hint; one catalogue keeps the pages' word.
            ja.setdefault(msgid, msgstr)
    for code, english in GISTS.items():
        ja[english] = messages.BY_CODE[code]
    ja[_UNKNOWN] = messages._UNKNOWN_ERROR
    _write("ja", ja)
    _write("en", dict(messages.EN))


if __name__ == "__main__":
    main()
