"""The fake's check of a segment query, as ``segmentCreate`` / ``segmentUpdate`` check it.

Shopify refuses a query its segment language cannot read with a ``userErrors`` entry on
``query``. This module knows that language on its own — Shopify's documented attributes,
functions with their arguments, and operators (help.shopify.com "Customer segmentation
reference"; shopify.dev "Segment query language reference" and the changelog
"Updated function syntax on the segment query language") — and deliberately nothing of
segmentry's: segmentry's extensions (``STARTS WITH``, ``segments``, journey arguments such as
``order_number``, ``NOT`` before a condition) must be refused here *because* Shopify refuses
them, not because segmentry says so. NOTE: the wording of the refusals is ours.

    >>> query_refusal("customer_tags CONTAINS 'vip' AND number_of_orders >= 2") is None
    True
    >>> query_refusal("products_purchased MATCHES (tag = 'serum', date >= -30d)") is None
    True
    >>> query_refusal("customer_tags STARTS WITH 'vip'")
    "Query is invalid: the operator STARTS WITH is not supported (at 'STARTS')."
    >>> query_refusal("orders_placed MATCHES (order_number = 2)")
    "Query is invalid: orders_placed has no parameter 'order_number'."
    >>> query_refusal("segments CONTAINS 'vip'")
    "Query is invalid: 'segments' is not a valid attribute."
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ATTRIBUTES", "FUNCTIONS", "query_refusal"]

# Attributes of Shopify's segment language (a condition's left side).
ATTRIBUTES = frozenset({
    "abandoned_checkout_date", "amount_spent", "companies", "created_by_app_id",
    "customer_account_status", "customer_added_date", "customer_cities", "customer_countries",
    "customer_email_domain", "customer_language", "customer_regions", "customer_tags",
    "email_subscription_status", "first_order_date", "last_order_date", "number_of_orders",
    "predicted_spend_tier", "product_subscription_status", "rfm_group",
    "sms_subscription_status",
})
# Functions and the parameters each takes (None: not checked here, e.g. each of Shopify
# Email's and the storefront's event functions).
FUNCTIONS: dict[str, frozenset[str] | None] = {
    "products_purchased": frozenset({"id", "tag", "date", "quantity", "sum_quantity",
                                     "category"}),
    "orders_placed": frozenset({"date", "count", "amount", "sum_amount", "location_id",
                                "app_id"}),
    "anniversary": frozenset({"date"}),
    "customer_within_distance": None,
    # shopify.dev segment query language reference: the four parameters of store credit
    "store_credit_accounts": frozenset({"currency", "balance", "next_expiry_date",
                                        "last_credit_date"}),
}
_FUNCTION_FAMILIES = ("shopify_email.", "storefront_event.")
_ATTRIBUTE_FAMILIES = ("metafields.",)
# A customer metafield filter, ``namespace.key`` (help.shopify.com: metafield filters).
_METAFIELD = re.compile(r"^(?!shopify_email\.|storefront(_event)?\.)[a-z0-9_]+\.[a-z0-9_]+$")
_COMPARE = {"=", "!=", ">", ">=", "<", "<="}
_NAMED_DATE = re.compile(r"(today|yesterday|\d+_(days|weeks|months|years)_ago)$", re.I)
_TOKEN = re.compile(
    r"""\s*(?:(?P<string>'(?:[^'\\]|\\.)*')
    |(?P<date>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?)
    |(?P<offset>[+-]\d+[dwmy])\b
    |(?P<number>-?\d+(?:\.\d+)?)(?![\w.])
    |(?P<name>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)
    |(?P<op>>=|<=|!=|=|>|<|\(|\)|,|:))""",
    re.X,
)


class _Refused(Exception):
    pass


@dataclass
class _Token:
    kind: str
    text: str

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else self.text


def query_refusal(text: str) -> str | None:
    """Why Shopify would refuse ``text`` as a segment query (None: it would accept it)."""
    try:
        _Parser(_tokens(text)).query()
    except _Refused as e:
        return f"Query is invalid: {e}"
    return None


def _tokens(text: str) -> list[_Token]:
    found: list[_Token] = []
    at = 0
    while text[at:].strip():
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise _Refused(f"unexpected character at {text[at:].strip()[:10]!r}.")
        kind = match.lastgroup or "op"
        found.append(_Token(kind, match.group(kind)))
        at = match.end()
    return found


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens, self.at = tokens, 0

    # ------------------------------------------------------------ helpers

    def peek(self, ahead: int = 0) -> _Token | None:
        index = self.at + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def word(self, ahead: int = 0) -> str:
        token = self.peek(ahead)
        return token.word if token else ""

    def take(self, *words: str) -> _Token:
        token = self.peek()
        if token is None:
            raise _Refused("the query ends too early.")
        if words and token.word not in words:
            raise _Refused(f"expected {' or '.join(words)} at {token.text!r}.")
        self.at += 1
        return token

    # ------------------------------------------------------------ grammar

    def query(self) -> None:
        if not self.tokens:
            raise _Refused("the query is empty.")
        self.either()
        if self.peek() is not None:
            raise _Refused(f"unexpected {self.word()!r}.")

    def either(self) -> None:
        self.both()
        while self.word() == "OR":
            self.take()
            self.both()

    def both(self) -> None:
        self.primary()
        while self.word() == "AND":
            self.take()
            self.primary()

    def primary(self) -> None:
        if self.word() == "(":
            self.take()
            self.either()
            self.take(")")
            return
        if self.word() == "NOT":
            raise _Refused("NOT cannot start a condition; use !=, NOT CONTAINS, NOT IN or "
                           "NOT MATCHES.")
        self.condition()

    def condition(self) -> None:
        token = self.take()
        if token.kind != "name":
            raise _Refused(f"expected an attribute at {token.text!r}.")
        name = token.text
        if self.word() == "(":
            self.function(name)
            if name != "anniversary":  # NOTE: anniversary(…) is compared as a date
                self.take("=", "!=")
                self.take("TRUE", "FALSE")
        elif self.word() == "MATCHES" or (self.word() == "NOT" and self.word(1) == "MATCHES"):
            self.function(name)
        else:
            if name.lower() != name or not (
                name in ATTRIBUTES or name.startswith(_ATTRIBUTE_FAMILIES)
                or _METAFIELD.match(name)
            ):
                raise _Refused(f"{name!r} is not a valid attribute.")
            self.operation(name)

    def function(self, name: str) -> None:
        """A function in the MATCHES form, or (before ``= true``) the old call form."""
        if name not in FUNCTIONS and not name.startswith(_FUNCTION_FAMILIES):
            raise _Refused(f"{name!r} is not a valid function.")
        matches = self.word() != "("
        if matches:
            if self.word() == "NOT":
                self.take()
            self.take("MATCHES")
        self.take("(")
        seen: set[str] = set()
        while self.word() != ")":
            argument = self.take()
            allowed = FUNCTIONS.get(name)
            if argument.kind != "name" or (allowed is not None and argument.text not in allowed):
                raise _Refused(f"{name} has no parameter {argument.text!r}.")
            if argument.text in seen:
                raise _Refused(f"{name} takes the parameter {argument.text!r} once.")
            seen.add(argument.text)
            if matches:
                self.operation(argument.text)
            else:
                self.take(":")
                self.value_or_list()
            if self.word() == ",":
                self.take()
        self.take(")")
        if name == "anniversary":
            self.operation(name)

    def operation(self, name: str) -> None:
        word = self.word()
        if word in _COMPARE:
            self.take()
            self.value()
        elif word == "BETWEEN":
            self.take()
            self.value()
            self.take("AND")
            self.value()
        elif word == "IS":
            self.take()
            if self.word() == "NOT":
                self.take()
            self.take("NULL")
        elif word == "NOT" and self.word(1) in ("CONTAINS", "IN"):
            self.take()
            self.operation(name)
        elif word == "CONTAINS":
            self.take()
            self.value()
        elif word == "IN":
            self.take()
            self.list()
        elif word == "STARTS":
            raise _Refused("the operator STARTS WITH is not supported (at 'STARTS').")
        else:
            raise _Refused(f"expected an operator after {name!r}, not {word or 'the end'!r}.")

    def value(self) -> None:
        token = self.take()
        if token.kind in ("string", "date", "offset", "number"):
            return
        if token.kind == "name" and (token.word in ("TRUE", "FALSE")
                                     or _NAMED_DATE.match(token.text)):
            return
        raise _Refused(f"{token.text!r} is not a value.")

    def list(self) -> None:
        self.take("(")
        self.value()
        while self.word() == ",":
            self.take()
            self.value()
        self.take(")")

    def value_or_list(self) -> None:
        if self.word() == "(":
            self.list()
        else:
            self.value()
