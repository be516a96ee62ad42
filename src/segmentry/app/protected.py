"""Protected customer data a shop withholds from the app, and what that means for segments.

Shopify gives an app customers' names, e-mails, phones and addresses only when it is approved
for that protected customer data ("Work with protected customer data", shopify.dev: level 2 is
"Customer data including name, address, phone, or email fields"). The Shopify sync records
what it found withheld (:func:`segmentry.store.sync_marks.withheld`) and stores the other
fields, leaving those columns null. A segment reading a withheld field would match on nulls
without saying so; :func:`refuse_withheld` refuses it instead, naming the attribute and why.

>>> from segmentry import language
>>> refuse_withheld(language.validate("number_of_orders >= 2"), {"email"})
>>> refuse_withheld(language.validate("customer_email_domain = 'gmail.com'"), {"email"})
Traceback (most recent call last):
...
segmentry.core.errors.SegmentError: The segment uses customer_email_domain, which needs ...
"""

from __future__ import annotations

from collections.abc import Collection

from segmentry.core.errors import SegmentError, Text
from segmentry.language import ast
from segmentry.language.catalog import CUSTOMER_DATA
from segmentry.language.changes import attributes_of

__all__ = ["FIELD_WORDS", "refuse_withheld", "withheld_note"]

# The protected customer data, in the words a shop manager reads.
FIELD_WORDS = {
    "name": Text("full name"),
    "email": Text("e-mail"),
    "phone": Text("phone number"),
    "address": Text("postal address"),
}


def _words(fields: Collection[str]) -> Text:
    """The fields' words, comma-separated, each translated where it is shown."""
    order = list(FIELD_WORDS)
    known = sorted((f for f in fields if f in FIELD_WORDS), key=order.index)
    # NOTE: the template is only placeholders, so it needs no catalogue entry of its own
    template = ", ".join(f"{{f{i}}}" for i in range(len(known)))
    return Text(template, {f"f{i}": FIELD_WORDS[f] for i, f in enumerate(known)})


def withheld_note(fields: Collection[str]) -> Text | None:
    """What to tell about the withheld data (None: nothing withheld).

    >>> str(withheld_note({"phone", "email"}))  # doctest: +NORMALIZE_WHITESPACE
    "Shopify withholds customers' e-mail, phone number from this app: protected customer data needs
    the app's approval (Partner Dashboard → API access → Protected customer data); segments
    using them cannot be evaluated."
    """
    if not fields:
        return None
    return Text(
        "Shopify withholds customers' {fields} from this app: protected customer data needs "
        "the app's approval (Partner Dashboard → API access → Protected customer data); "
        "segments using them cannot be evaluated.",
        {"fields": _words(fields)},
    )


def refuse_withheld(condition: ast.Condition, withheld: Collection[str]) -> None:
    """Raise ``withheld_field`` when the (resolved) condition reads withheld customer data."""
    if not withheld:
        return
    for attribute in sorted(attributes_of(condition)):
        field = CUSTOMER_DATA.get(attribute)
        if field is not None and field in withheld:
            raise SegmentError(
                "The segment uses {attribute}, which needs customers' {field}; Shopify "
                "withholds it from this app (protected customer data).",
                code="withheld_field",
                params={"attribute": attribute, "field": FIELD_WORDS[field]},
            )
