"""Shopify segments: the one on a synced tag, and Shopify's query for a segment of ours.

- :func:`ensure_shopify_segment` creates (``segmentCreate``) or updates (``segmentUpdate``) a
  Shopify customer segment ``customer_tags CONTAINS '<tag>'`` for a synced segment, so Shopify
  apps that target segments (email, LINE CRM) see it.
- :func:`shopify_query` prints a segment's query in Shopify's own segment language when every
  attribute, function and argument it uses exists there with the same meaning (``shopify=True``
  in :mod:`segmentry.language.catalog`); ordinal/journey conditions and our other extensions
  are not expressible, and it says which.

>>> shopify_query("number_of_orders >= 2 AND customer_tags CONTAINS 'vip'")
"number_of_orders >= 2 AND customer_tags CONTAINS 'vip'"
>>> shopify_query("first_order_channel = 'instagram'")
Traceback (most recent call last):
...
segmentry.core.errors.SegmentError: Shopify's segment language has no first_order_channel ...
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from segmentry import language
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.core.clock import utcnow
from segmentry.core.errors import SegmentError, ShopifyError
from segmentry.language import ast
from segmentry.language.catalog import ATTRIBUTES, EVENT_FUNCTIONS, FUNCTIONS, is_metafield
from segmentry.language.printer import quote
from segmentry.store import tag_bindings, tag_jobs
from segmentry.store.tag_jobs import AuditRecord

__all__ = ["ensure_shopify_segment", "shopify_query", "tag_query"]

# Arguments Shopify's own functions take (the others are segmentry extensions).
_SHOPIFY_ARGUMENTS = {
    "products_purchased": {"id", "tag", "date", "quantity"},
    "orders_placed": {"date", "count"},
    # Shopify Email and storefront events: every argument is Shopify's (language/catalog.py).
    **{name: set(FUNCTIONS[name].arguments) for name in EVENT_FUNCTIONS},
    "customer_within_distance": {"coordinates", "distance_km", "distance_mi"},
    "store_credit_accounts": {"currency", "balance", "next_expiry_date", "last_credit_date"},
}
_CREATE = """mutation create($name: String!, $query: String!) {
  segmentCreate(name: $name, query: $query) {
    segment { id name query } userErrors { field message } }
}"""
_UPDATE = """mutation update($id: ID!, $name: String, $query: String) {
  segmentUpdate(id: $id, name: $name, query: $query) {
    segment { id name query } userErrors { field message } }
}"""


# NOTE: a shop has at most 250 segments to read ("You can query a maximum of 250 segments",
# shopify.dev segment query language reference), so one page holds them all.
_BY_NAME = "query named { segments(first: 250) { nodes { id name query } } }"


def tag_query(tag: str) -> str:
    """The Shopify segment query that selects the customers carrying ``tag``.

    >>> tag_query("seg-first-time")
    "customer_tags CONTAINS 'seg-first-time'"
    """
    return f"customer_tags CONTAINS {quote(tag)}"


def shopify_query(text: str, segments: Any = None) -> str:
    """Shopify's query for a segment query (references to other segments expanded), or a
    SegmentError naming the first part Shopify cannot express.

    Only Shopify's current documented syntax comes out: functions in the MATCHES form (the
    ``= true`` call form is deprecated as of API 2026-10), date offsets for the deprecated named
    dates (``30_days_ago`` → ``-30d``), lists as ``IN (…)``; no ``STARTS WITH`` and no argument
    given twice (https://shopify.dev/changelog/updated-function-syntax-on-the-segment-query-language).

    >>> shopify_query("products_purchased(tag: 'serum', date: 30_days_ago) = false")
    "products_purchased NOT MATCHES (tag = 'serum', date >= -30d)"
    """
    condition = language.validate(text, segments)
    _check(condition)
    return language.to_text(_current(condition))


def _current(condition: ast.Condition) -> ast.Condition:
    """``condition`` in Shopify's current spelling (see :func:`shopify_query`)."""
    match condition:
        case ast.And(items=items) | ast.Or(items=items):
            return replace(condition, items=tuple(_current(i) for i in items))
        case ast.Not(item=item):
            return replace(condition, item=_current(item))
        case ast.FunctionCondition(args=args):
            return replace(condition, form="matches",
                           args=tuple(replace(a, value=_offset(a.value)) for a in args))
        case ast.Comparison(value=value):
            return replace(condition, value=_offset(value))
        case ast.Between(low=low, high=high):
            return replace(condition, low=_offset(low), high=_offset(high))
        case ast.Anniversary(value=value):
            return replace(condition, value=_offset(value))
    return condition


def _offset(value: ast.Value) -> ast.Value:
    if isinstance(value, ast.RelativeDate):
        return replace(value, spelled="offset")
    if isinstance(value, ast.ListValue):
        return replace(value, items=tuple(_offset(v) for v in value.items))
    return value


def _check(condition: ast.Condition) -> None:
    match condition:
        case ast.And(items=items) | ast.Or(items=items):
            for item in items:
                _check(item)
        case ast.Not():
            # NOTE: Shopify combines conditions with AND and OR only (shopify.dev, ShopifyQL
            # WHERE: "Logical operators"); its negations are !=, NOT CONTAINS, NOT IN, NOT
            # MATCHES, which treat a missing value otherwise than NOT of the whole condition.
            _refuse("NOT (…)")
        case ast.FunctionCondition(name=name, args=args):
            spec = FUNCTIONS.get(name)
            if spec is None or not spec.shopify:
                _refuse(name)
            extra = [a.name for a in args if a.name not in _SHOPIFY_ARGUMENTS.get(name, set())]
            if extra:
                _refuse(f"{name}({extra[0]}: …)")
            names = [a.name for a in args]
            twice = next((n for n in names if names.count(n) > 1), None)
            if twice is not None:
                _refuse(f"{name}: {twice} given twice")
            if any(a.op in ("STARTS WITH", "CONTAINS") for a in args):
                _refuse(f"{name}: STARTS WITH")
        case ast.StartsWith(attribute=name):
            _refuse(f"{name} STARTS WITH")
        case ast.Anniversary():
            pass  # Shopify's own form, on a Shopify date
        case _:
            name = getattr(condition, "attribute", "")
            attribute = ATTRIBUTES.get(name)
            if (attribute is None or not attribute.shopify) and not is_metafield(name):
                _refuse(name)


def _created(client: ShopifyClient, name: str, query: str) -> dict[str, Any] | None:
    """``segmentCreate``'s answer when Shopify did create the segment before failing to say
    so (an ``INTERNAL_SERVER_ERROR``): found by its name (unique in a shop) and query; None
    when there is none, so creating it again makes no second one."""
    nodes = client.execute(_BY_NAME, cost=10)["segments"]["nodes"]
    found = next((n for n in nodes if n["name"] == name and n["query"] == query), None)
    return None if found is None else {"segmentCreate": {"segment": found, "userErrors": []}}


def _refuse(what: str) -> None:
    raise SegmentError(
        "Shopify's segment language has no {what} (a segmentry extension).",
        code="not_shopify_expressible",
        params={"what": what},
    )


def ensure_shopify_segment(ws: Any, client: ShopifyClient, segment: str, tag: str) -> str:
    """Create or update the Shopify segment on ``tag`` for ``segment``; returns its id."""
    with ws.state.connect() as conn:
        binding = tag_bindings.binding(conn, segment)
    existing = None if binding is None else binding.shopify_segment_id
    query = tag_query(tag)
    if existing:
        data = client.execute(_UPDATE, {"id": existing, "query": query})["segmentUpdate"]
    else:
        data = client.execute(_CREATE, {"name": segment, "query": query},
                              applied=lambda: _created(client, segment, query))["segmentCreate"]
    if data["userErrors"]:
        refusal = "; ".join(e["message"] for e in data["userErrors"])
        raise ShopifyError(
            "Shopify refused the segment {segment!r}: {detail}",
            code="segment_refused",
            params={"segment": segment, "detail": refusal},
            hint="A Shopify segment with this name may exist already: rename or delete it in "
            "Shopify admin (Customers → Segments) and sync again.",
        )
    segment_id = str(data["segment"]["id"])
    with ws.state.begin() as conn:
        tag_bindings.set_shopify_segment(conn, segment, segment_id)
        tag_jobs.audit(conn, [AuditRecord(
            at=utcnow(),
            segment=segment,
            action="segment_update" if existing else "segment_create",
            tags=tag,
            result="ok",
            detail=f"{segment_id}: {query}",
        )])
    return segment_id
