"""Starter segments: the templates every shop begins with, read from ``app/starter.toml``.

Each template is a name (a slug: the key of the segment made from it, used on the CLI and as the
default Shopify tag suffix), a title and description a CRM manager reads, in English and Japanese
(the segment made from a template gets the title in the language it was made in as its display
name), and a query in the segment language. The data sit in a TOML file so that wording can be
changed (or a language added) without touching code.

>>> TEMPLATES["repeat-customers"].query
'number_of_orders >= 2'
>>> t = TEMPLATES["repeat-customers"]
>>> t.title_in("ja"), t.title_in("en"), t.title_in("fr")
('リピーター', 'Repeat customers', 'Repeat customers')
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

__all__ = ["LANGUAGES", "TEMPLATES", "Template", "load_templates"]

# Every template has a title and a description in each of these; the first is the fallback.
LANGUAGES = ("en", "ja")


@dataclass(frozen=True)
class Template:
    name: str
    query: str
    titles: Mapping[str, str]
    descriptions: Mapping[str, str]

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` (English for a language the template lacks)."""
        return self.titles.get(lang, self.titles[LANGUAGES[0]])

    def description_in(self, lang: str) -> str:
        return self.descriptions.get(lang, self.descriptions[LANGUAGES[0]])

    @property
    def title(self) -> str:
        return self.title_in("en")

    @property
    def title_ja(self) -> str:
        return self.title_in("ja")

    @property
    def description(self) -> str:
        return self.description_in("en")


def _template(entry: dict[str, Any]) -> Template:
    missing = [
        f"{part}.{lang}"
        for part in ("title", "description")
        for lang in LANGUAGES
        if not str(entry.get(part, {}).get(lang, "")).strip()
    ]
    # A packaged file: a gap is a bug in this release, caught by the tests, not a user's error.
    assert not missing, f"template {entry.get('name')!r} lacks {', '.join(missing)}"
    return Template(entry["name"], entry["query"], dict(entry["title"]),
                    dict(entry["description"]))


def load_templates(text: str) -> dict[str, Template]:
    """Templates by name from the TOML text of a ``[[template]]`` list (file order kept).

    >>> load_templates('''
    ... [[template]]
    ... name = "vip"
    ... query = "amount_spent >= 100000"
    ... title = {en = "VIP", ja = "VIP顧客"}
    ... description = {en = "Spent ¥100,000 or more.", ja = "累計10万円以上購入。"}
    ... ''')["vip"].title_in("ja")
    'VIP顧客'
    """
    entries = tomllib.loads(text).get("template", [])
    return {t.name: t for t in map(_template, entries)}


TEMPLATES: dict[str, Template] = load_templates(
    files("segmentry.app").joinpath("starter.toml").read_text(encoding="utf-8")
)
