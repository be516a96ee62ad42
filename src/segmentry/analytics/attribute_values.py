"""The store's own values of an attribute or function argument, for autocomplete.

Shopify's segment editor suggests the tags, product types, vendors… a store actually has; the
builder does the same from the ledger. A *field* is an attribute name (``customer_tags``) or a
function argument written ``function.argument`` (``products_purchased.vendor``); the argument
part alone names the same values for either function.

Values are read with one grouped Ibis query per field (any engine), most used first, at most
:data:`MAX_VALUES` of them; a product id carries its title as the label.

>>> [s.column for s in FIELDS["customer_tags"]]
['tags']
>>> field_of("orders_placed.channel") == field_of("first_order_channel")
True
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.language.catalog import FUNCTIONS

__all__ = ["FIELDS", "MAX_VALUES", "Source", "StoreValues", "field_of", "matching", "store_values"]

MAX_VALUES = 5000


@dataclass(frozen=True)
class Source:
    """One ledger column holding values of a field (``is_list``: an array of them)."""

    table: str
    column: str
    is_list: bool = False
    label: str | None = None  # a column shown beside the value (a product's title)


_CHANNEL = (Source("orders", "channel"),)
_PRODUCT_IDS = (Source("products", "product_id", label="title"),
                Source("order_lines", "product_id", label="title"))

# Field → where its values live in the ledger.
FIELDS: dict[str, tuple[Source, ...]] = {
    "customer_tags": (Source("customers", "tags", True),),
    "customer_cities": (Source("customers", "city"),),
    "customer_regions": (Source("customers", "region"),),
    "customer_countries": (Source("customers", "country"),),
    "first_order_channel": _CHANNEL,
    "last_order_channel": _CHANNEL,
    "first_order_utm_source": (Source("orders", "utm_source"),),
    "first_order_utm_medium": (Source("orders", "utm_medium"),),
    "first_order_utm_campaign": (Source("orders", "utm_campaign"),),
    "first_order_source_name": (Source("orders", "source_name"),),
    "order_tags": (Source("orders", "tags", True),),
    "discount_codes_used": (Source("orders", "discount_codes", True),),
    # function arguments
    "channel": _CHANNEL,
    "utm_source": (Source("orders", "utm_source"),),
    "utm_medium": (Source("orders", "utm_medium"),),
    "utm_campaign": (Source("orders", "utm_campaign"),),
    "source_name": (Source("orders", "source_name"),),
    "discount_code": (Source("orders", "discount_codes", True),),
    "order_tag": (Source("orders", "tags", True),),
    "id": _PRODUCT_IDS,
    "tag": (Source("products", "tags", True), Source("order_lines", "product_tags", True)),
    "product_type": (Source("products", "product_type"), Source("order_lines", "product_type")),
    "vendor": (Source("products", "vendor"), Source("order_lines", "vendor")),
    "sku": (Source("order_lines", "sku"),),
    "currency": (Source("store_credit_accounts", "currency"),),  # store_credit_accounts
    "product_line": (Source("products", "product_line"),),
}


def field_of(name: str) -> tuple[Source, ...] | None:
    """The sources of ``name`` (an attribute, or ``function.argument``), or None if it has none.

    >>> field_of("products_purchased.nope") is None, field_of("amount_spent") is None
    (True, True)
    """
    function, dot, argument = name.partition(".")
    if dot:
        spec = FUNCTIONS.get(function)
        if spec is None or argument not in spec.arguments:
            return None
        return FIELDS.get(argument)
    return FIELDS.get(name)


@dataclass(frozen=True)
class StoreValues:
    """Every value of one field (up to :data:`MAX_VALUES`, most used first) and how many
    distinct values the store has in all."""

    values: tuple[tuple[str, str | None], ...]  # (value, label)
    distinct: int


def _rows(con: BaseBackend, source: Source, labelled: bool) -> ir.Table | None:
    if source.table not in con.list_tables():
        return None
    table = con.table(source.table)
    column = table[source.column]
    value = (column.unnest() if source.is_list else column).cast("string")
    if not labelled:
        rows = table.select(value=value)
    else:
        label = table[source.label] if source.label else ibis.null().cast("string")
        rows = table.select(value=value, label=label)
    # NOTE: only the empty string is left out here; a blank such as ' ' is dropped in Python
    # (a TRIM per row made the scan of a 3M-order ledger several times slower).
    return rows.filter(rows.value.notnull() & (rows.value != ""))


def store_values(con: BaseBackend, sources: tuple[Source, ...]) -> StoreValues:
    """The values of a field, counted over its sources (rows that carry each value).

    One grouped query; a second one counts the distinct values only when there are more
    than :data:`MAX_VALUES`.
    """
    labelled = any(s.label for s in sources)
    parts = [rows for s in sources if (rows := _rows(con, s, labelled)) is not None]
    if not parts:
        return StoreValues((), 0)
    rows = ibis.union(*parts) if len(parts) > 1 else parts[0]
    label = {"label": rows.label.max()} if labelled else {}
    counted = rows.group_by("value").aggregate(uses=rows.count(), **label)
    top = con.execute(counted.order_by([ibis.desc("uses"), "value"]).limit(MAX_VALUES))
    distinct = len(top) if len(top) < MAX_VALUES else int(con.execute(counted.count()))
    values = tuple(
        (str(r.value), _text(getattr(r, "label", None)))
        for r in top.itertuples()
        if str(r.value).strip()
    )
    return StoreValues(values, distinct - (len(top) - len(values)))


def _text(value: object) -> str | None:
    return None if value is None or value != value else str(value)  # NaN: no label


def matching(found: StoreValues, prefix: str, limit: int) -> list[tuple[str, str | None]]:
    """Values (or labels) starting with ``prefix``, then those containing it, ignoring case.

    >>> values = StoreValues((("vip", None), ("line", None), ("new-vip", None)), 3)
    >>> matching(values, "VI", 10)
    [('vip', None), ('new-vip', None)]
    """
    needle = prefix.casefold().strip()
    starts: list[tuple[str, str | None]] = []
    contains: list[tuple[str, str | None]] = []
    for value, label in found.values:
        texts = [value.casefold(), (label or "").casefold()]
        if any(t.startswith(needle) for t in texts):
            starts.append((value, label))
        elif any(needle in t for t in texts):
            contains.append((value, label))
    return (starts + contains)[:limit]
