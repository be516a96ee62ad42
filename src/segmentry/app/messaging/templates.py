"""Message templates: Jinja2 in a sandbox, with the fields a message may name checked when it is
saved, not when it is sent.

A template names fields of the recipient (``customer``), of their latest order
(``last_order``), the products recommended to them (``recommended_products``: a list of
products with ``title``, ``url`` and ``price``; docs/insight.md) and of the shop
(``shop``); a send may add more (``unsubscribe_url`` for e-mail, ``coupon`` for a campaign).
Any other name is refused by :func:`compile_template` with the field it looks like, so a
typo never reaches ten thousand customers as an empty string. Rendering uses Jinja2's
:class:`~jinja2.sandbox.SandboxedEnvironment` (a template cannot reach Python internals) with
strict undefined values.

Japanese messages address a customer by family name and given name with 様; a customer without
a name is お客様:

>>> t = compile_template("{{ customer.honorific_name }}、ご購入ありがとうございます。")
>>> t.render(Recipient(customer_id="1", family_name="山田", given_name="花子"),
...          ShopFacts("Example", "JPY", "ja"))
'山田 花子 様、ご購入ありがとうございます。'
>>> t.render(Recipient(customer_id="2"), ShopFacts("Example", "JPY", "ja"))
'お客様、ご購入ありがとうございます。'
>>> try:
...     compile_template("{{ customer.frist_name }}")
... except MessagingError as e:
...     print(e.code, e.hint)
template_unknown_field Did you mean customer.first_name?
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment

from segmentry.core.errors import MessagingError
from segmentry.i18n.format import Formatter

__all__ = [
    "FIELDS",
    "ITEM_FIELDS",
    "MAX_TEMPLATE_CHARS",
    "LastOrder",
    "MessageTemplate",
    "Money",
    "Recipient",
    "RecommendedProduct",
    "ShopFacts",
    "compile_template",
    "context_of",
]

# A template longer than this is refused (a LINE text message holds 5,000 characters; an
# e-mail body template has no business being larger than this either).
MAX_TEMPLATE_CHARS = 50_000

# What a template may name: object → its fields. ``None`` marks a plain value.
FIELDS: Mapping[str, frozenset[str] | None] = {
    "customer": frozenset(
        {"id", "first_name", "last_name", "name", "honorific_name", "email"}
    ),
    "last_order": frozenset({"name", "date", "total", "products"}),
    "shop": frozenset({"name"}),
    "recommended_products": None,
}
# What a template may name of each item of a list: ``{% for p in recommended_products %}``
# ``{{ p.title }}`` and ``recommended_products[0].title`` are checked as fields are.
ITEM_FIELDS: Mapping[str, frozenset[str]] = {
    "recommended_products": frozenset({"title", "url", "price"}),
}


@dataclass(frozen=True)
class Money:
    """An amount in the shop's currency that prints itself as the reader expects
    (``￥12,345`` in Japanese)."""

    amount: Decimal
    formatter: Formatter

    def __str__(self) -> str:
        return self.formatter.money(self.amount)

    def __html__(self) -> str:  # Jinja2's autoescape asks this; money needs no escaping
        return str(self)


@dataclass(frozen=True)
class LastOrder:
    name: str
    day: dt.date
    total: Decimal
    products: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecommendedProduct:
    title: str
    url: str = ""
    price: Decimal | None = None


@dataclass(frozen=True)
class Recipient:
    """What a template may know about one customer."""

    customer_id: str
    family_name: str | None = None
    given_name: str | None = None
    email: str | None = None
    last_order: LastOrder | None = None
    recommended_products: tuple[RecommendedProduct, ...] = ()


@dataclass(frozen=True)
class ShopFacts:
    name: str
    currency: str
    language: str  # the message's language: ja or en
    timezone: str = "Asia/Tokyo"


@dataclass(frozen=True)
class MessageTemplate:
    """A checked template. ``extra`` names the send-specific values it may use."""

    source: str
    extra: frozenset[str] = frozenset()
    _template: jinja2.Template | None = field(default=None, compare=False, repr=False)
    # The same template inside a loop over many contexts (see :meth:`render_many`), or None
    # when the template cannot be put in one unchanged.
    _many: jinja2.Template | None = field(default=None, compare=False, repr=False)
    _names: tuple[str, ...] = field(default=(), compare=False, repr=False)  # its loop's names

    @property
    def constant(self) -> bool:
        """Plain text without a field or a statement: the same for every customer."""
        return not any(mark in self.source for mark in ("{{", "{%", "{#"))

    def render(
        self,
        recipient: Recipient,
        shop: ShopFacts,
        values: Mapping[str, object] | None = None,
    ) -> str:
        """The message for ``recipient``. ``values`` fills the ``extra`` names."""
        return self.render_context({**context_of(recipient, shop), **(values or {})})

    def render_many(
        self, contexts: Sequence[Mapping[str, object]]
    ) -> list[str | MessagingError]:
        """:meth:`render_context` of each context, in order: the message, or the
        :class:`MessagingError` it raised (any other error is raised).

        The messages are the same, byte for byte, as one :meth:`render_context` each; they are
        rendered :data:`MANY_AT_ONCE` at a time by the same template inside a loop (same
        sandboxed environment, so the same checks on every attribute), which spares Jinja2's
        set-up of each render (most of its time for a short message). A group that fails is
        split until the failing context is rendered alone, by :meth:`render_context`.
        """
        if self.constant:
            return [self.source] * len(contexts)
        out: list[str | MessagingError] = []
        for start in range(0, len(contexts), MANY_AT_ONCE):
            self._render_group(contexts[start : start + MANY_AT_ONCE], out)
        return out

    def _render_group(
        self, contexts: Sequence[Mapping[str, object]], out: list[str | MessagingError]
    ) -> None:
        while contexts:
            if self._many is None or len(contexts) == 1:
                out.extend(self._alone(c) for c in contexts)
                return
            try:
                rows = [tuple([c[n] for n in self._names]) for c in contexts]
            except KeyError:  # a value the send does not provide: the error, for each
                out.extend(self._alone(c) for c in contexts)
                return
            try:
                parts = "".join(self._loop(rows)).split(_SEPARATOR)
            except Exception:  # the context at fault is rendered alone below
                at = self._failing(rows)
            else:
                if len(parts) == len(rows) + 1 and not parts[0]:
                    out.extend(parts[1:])
                else:  # a value holding the separator: no telling where a message ends
                    out.extend(self._alone(c) for c in contexts)
                return
            self._render_group(contexts[:at], out)
            out.append(self._alone(contexts[at]))
            contexts = contexts[at + 1 :]

    def _failing(self, rows: list[tuple[object, ...]]) -> int:
        """Where the loop stopped: the number of separators it wrote, less one (the contexts
        before are rendered again, and checked, as a group of their own)."""
        written = 0
        try:
            for piece in self._loop(rows):
                written += piece.count(_SEPARATOR)
        except Exception:  # the error itself comes from rendering alone
            pass
        return min(max(written - 1, 0), len(rows) - 1)

    def _loop(self, rows: list[tuple[object, ...]]) -> Iterator[str]:
        # NOTE: the loop's render function itself, as Template.render calls it, without the
        # rewriting of a traceback Jinja2 does on an error (slow): an error here is only a
        # sign to render that context alone, whose error is the one reported.
        assert self._many is not None
        return self._many.root_render_func(self._many.new_context({_ROWS: rows}))

    def _alone(self, context: Mapping[str, object]) -> str | MessagingError:
        try:
            return self.render_context(context)
        except MessagingError as e:
            return e

    def render_context(self, context: Mapping[str, object]) -> str:
        """The message for a context made by :func:`context_of` (plus the ``extra`` values):
        one context serves every template of a message (subject, text, HTML)."""
        assert self._template is not None
        if self.constant:
            return self.source
        missing = sorted(self.extra - context.keys())
        if missing:
            raise MessagingError(
                "The template needs {names}, which this send does not provide.",
                code="template_unknown_field",
                params={"names": ", ".join(missing)},
            )
        try:
            return self._template.render(context)
        except jinja2.exceptions.SecurityError as e:
            raise MessagingError(
                "The template tried something a message template may not do: {problem}",
                code="template_unsafe",
                params={"problem": str(e)},
            ) from e
        except jinja2.exceptions.UndefinedError as e:
            raise MessagingError(
                "The template names a value this customer does not have: {problem}",
                code="template_unknown_field",
                params={"problem": str(e)},
            ) from e


def compile_template(
    source: str, *, extra: Iterable[str] = (), html: bool = False, json_text: bool = False
) -> MessageTemplate:
    """Check ``source`` and make it ready to render.

    Refused with :class:`MessagingError`: a syntax error (with its line), a name that is not a
    field (with the nearest one), a template over :data:`MAX_TEMPLATE_CHARS`. ``extra`` are the
    names the send adds (``unsubscribe_url``, ``coupon``); ``html`` escapes values for HTML,
    ``json_text`` for the inside of a JSON string (a LINE Flex message's contents: a customer's
    name cannot break the JSON around it).

    >>> t = compile_template('{"text": "{{ customer.name }}"}', json_text=True)
    >>> print(t.render(Recipient("1", family_name='"山田"'), ShopFacts("S", "JPY", "ja")))
    {"text": "\\"山田\\""}
    """
    if len(source) > MAX_TEMPLATE_CHARS:
        raise MessagingError(
            "The template is {size:,} characters long; at most {limit:,} are allowed.",
            code="template_too_long",
            params={"size": len(source), "limit": MAX_TEMPLATE_CHARS},
        )
    names = frozenset(extra)
    environment = _environment(html, json_text)
    try:
        tree = environment.parse(source)
    except jinja2.TemplateSyntaxError as e:
        raise MessagingError(
            "Line {line}: the template cannot be read: {problem}",
            code="template_syntax",
            params={"line": e.lineno, "problem": e.message or str(e)},
        ) from e
    _check_names(tree, names)
    _check_items(tree)
    template = environment.from_string(tree)
    bound = tuple(sorted(set(FIELDS) | names))
    return MessageTemplate(source, names, template, _many_template(environment, source, bound),
                           bound)


# Contexts rendered in one loop by :meth:`MessageTemplate.render_many`, the name of the loop's
# rows, and what separates two messages in its output (a message holding it is rendered again
# alone: the number of pieces would not match).
MANY_AT_ONCE = 256
_ROWS = "__segmentry_rows"
_SEPARATOR = "\x00"
# Statements whose meaning could change inside a loop (assignments, blocks, macros, includes):
# a template with any of them is rendered one context at a time.
_NOT_IN_A_LOOP = (
    nodes.Assign, nodes.AssignBlock, nodes.Block, nodes.CallBlock, nodes.EvalContextModifier,
    nodes.ExprStmt, nodes.Extends, nodes.FilterBlock, nodes.FromImport, nodes.Import,
    nodes.Include, nodes.Macro, nodes.OverlayScope, nodes.Scope, nodes.With,
)


def _many_template(
    environment: SandboxedEnvironment, source: str, names: Sequence[str]
) -> jinja2.Template | None:
    """``source`` inside ``{% for <every name> in rows %}<separator>…{% endfor %}``, or None when
    that could render differently from ``source`` alone (a statement of
    :data:`_NOT_IN_A_LOOP`, a use of ``loop``, the separator in the text). ``names``: what the
    loop binds, the names of a context (the fields and the send's values)."""
    if _SEPARATOR in source:
        return None
    tree = environment.parse(source)  # a tree of its own: compiling may change a tree
    if any(True for _ in tree.find_all(_NOT_IN_A_LOOP)) or any(
        n.name == "loop" for n in tree.find_all(nodes.Name)
    ):
        return None
    target = nodes.Tuple([nodes.Name(n, "store") for n in names], "store")
    body = [nodes.Output([nodes.TemplateData(_SEPARATOR)]), *tree.body]
    loop = nodes.For(target, nodes.Name(_ROWS, "load"), body, [], None, False)
    return environment.from_string(nodes.Template([loop], lineno=1))


class _Sandbox(SandboxedEnvironment):
    """The sandbox, with a short way to the fields of segmentry's own context objects: their
    public properties are the fields a template may name, checked once here instead of by the
    sandbox's inspection of every value (a third of the rendering time of a million messages).
    Anything else — dicts, strings, Money, unknown names — goes the sandbox's own way."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        fields = _OWN_FIELDS.get(type(obj))
        if fields is not None and attribute in fields:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)


def _environment(html: bool, json_text: bool = False) -> SandboxedEnvironment:
    return _Sandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=html,
        keep_trailing_newline=True,
        finalize=_json_inside if json_text else None,
    )


def _json_inside(value: object) -> str:
    """A value as the inside of a JSON string."""
    return json.dumps(str(value), ensure_ascii=False)[1:-1]


def _check_names(tree: nodes.Template, extra: frozenset[str]) -> None:
    bound = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    known = set(FIELDS) | extra | bound | {"loop"}
    for name in tree.find_all(nodes.Name):
        if name.ctx == "load" and name.name not in known:
            _unknown(name.name, sorted(set(FIELDS) | extra), name.lineno)
    for getattr_ in tree.find_all(nodes.Getattr):
        _check_field(getattr_.node, getattr_.attr, getattr_.lineno)
    for getitem in tree.find_all(nodes.Getitem):
        if isinstance(getitem.arg, nodes.Const) and isinstance(getitem.arg.value, str):
            _check_field(getitem.node, getitem.arg.value, getitem.lineno)


def _check_items(tree: nodes.Template) -> None:
    """The fields named of a list's items: through a loop variable or an index."""
    for loop in tree.find_all(nodes.For):
        if not (isinstance(loop.iter, nodes.Name) and loop.iter.name in ITEM_FIELDS
                and isinstance(loop.target, nodes.Name)):
            continue
        fields = ITEM_FIELDS[loop.iter.name]
        for getattr_ in loop.find_all(nodes.Getattr):
            owner = getattr_.node
            if (isinstance(owner, nodes.Name) and owner.name == loop.target.name
                    and getattr_.attr not in fields):
                _unknown(f"{owner.name}.{getattr_.attr}",
                         [f"{owner.name}.{f}" for f in sorted(fields)], getattr_.lineno)
    for getattr_ in tree.find_all(nodes.Getattr):
        item = getattr_.node
        if (isinstance(item, nodes.Getitem) and isinstance(item.node, nodes.Name)
                and item.node.name in ITEM_FIELDS
                and getattr_.attr not in ITEM_FIELDS[item.node.name]):
            name = item.node.name
            _unknown(f"{name}[…].{getattr_.attr}",
                     [f"{name}[…].{f}" for f in sorted(ITEM_FIELDS[name])], getattr_.lineno)


def _check_field(owner: nodes.Node, attr: str, line: int) -> None:
    if not isinstance(owner, nodes.Name):
        return
    fields = FIELDS.get(owner.name)
    if fields is not None and attr not in fields:
        _unknown(f"{owner.name}.{attr}", [f"{owner.name}.{f}" for f in sorted(fields)], line)


def _unknown(name: str, choices: Sequence[str], line: int) -> None:
    close = difflib.get_close_matches(name, choices, n=1)
    raise MessagingError(
        "Line {line}: the template names {name}, which is not a field a message can use.",
        code="template_unknown_field",
        hint=("Did you mean {suggestion}?" if close else "The fields are: {fields}."),
        params={
            "line": line,
            "name": name,
            "suggestion": close[0] if close else "",
            "fields": ", ".join(choices),
        },
    )


def context_of(recipient: Recipient, shop: ShopFacts) -> dict[str, Any]:
    """What a template sees of ``recipient``: each field is worked out only when a template
    names it (a million messages format only what they show)."""
    formatter = _formatter(shop.language, shop.currency, shop.timezone)
    order = recipient.last_order
    return {
        "customer": _Customer(recipient, shop.language),
        "last_order": None if order is None else _Order(order, formatter),
        "shop": {"name": shop.name},
        "recommended_products": [_Product(p, formatter) for p in recipient.recommended_products],
    }


class _Customer:
    __slots__ = ("_language", "_recipient")

    def __init__(self, recipient: Recipient, language: str) -> None:
        self._recipient, self._language = recipient, language

    @property
    def id(self) -> str:
        return self._recipient.customer_id

    @property
    def first_name(self) -> str:
        return self._recipient.given_name or ""

    @property
    def last_name(self) -> str:
        return self._recipient.family_name or ""

    @property
    def name(self) -> str:
        return _full_name(self._recipient, self._language)

    @property
    def honorific_name(self) -> str:
        return _honorific(self._recipient, self._language)

    @property
    def email(self) -> str:
        return self._recipient.email or ""


class _Order:
    __slots__ = ("_formatter", "_order")

    def __init__(self, order: LastOrder, formatter: Formatter) -> None:
        self._order, self._formatter = order, formatter

    @property
    def name(self) -> str:
        return self._order.name

    @property
    def date(self) -> str:
        return self._formatter.date(self._order.day)

    @property
    def total(self) -> Money:
        return Money(self._order.total, self._formatter)

    @property
    def products(self) -> list[str]:
        return list(self._order.products)


class _Product:
    __slots__ = ("_formatter", "_product")

    def __init__(self, product: RecommendedProduct, formatter: Formatter) -> None:
        self._product, self._formatter = product, formatter

    @property
    def title(self) -> str:
        return self._product.title

    @property
    def url(self) -> str:
        return self._product.url

    @property
    def price(self) -> Money | str:
        price = self._product.price
        return "" if price is None else Money(price, self._formatter)

    def __str__(self) -> str:  # {{ recommended_products | join('、') }} lists the titles
        return self._product.title


# The context objects whose fields skip the sandbox's inspection (see _Sandbox).
_OWN_FIELDS: Mapping[type, frozenset[str]] = {
    _Customer: FIELDS["customer"] or frozenset(),
    _Order: FIELDS["last_order"] or frozenset(),
    _Product: ITEM_FIELDS["recommended_products"],
}


@functools.lru_cache(maxsize=16)
def _formatter(language: str, currency: str, timezone: str) -> Formatter:
    return Formatter(language, currency, timezone)


def _full_name(recipient: Recipient, language: str) -> str:
    parts = [recipient.family_name, recipient.given_name]
    if language != "ja":
        parts.reverse()
    return " ".join(p.strip() for p in parts if p and p.strip())


def _honorific(recipient: Recipient, language: str) -> str:
    name = _full_name(recipient, language)
    if language == "ja":
        return f"{name} 様" if name else "お客様"
    return name or "customer"
