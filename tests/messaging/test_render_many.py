"""Rendering many contexts in one Jinja2 call (``MessageTemplate.render_many``, what a send
uses) gives, for every customer, exactly what rendering that customer alone gives
(``render_context``, the reference): the same text byte for byte, or the same error."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from segmentry.app.messaging.templates import (
    LastOrder,
    MessageTemplate,
    Recipient,
    ShopFacts,
    compile_template,
    context_of,
)
from segmentry.core.errors import MessagingError

NAMES = [("山田", "花子"), (None, None), ("", "  "), ("Wu", "Alice"), ('"引用"', "a\\b"),
         ("<b>O'Neil</b>", "&amp;"), ("鈴木", None), (None, "太郎"), ("x\x00y", "z")]
PRODUCTS = [(), ("美容液",), ("洗顔フォーム", "シャンプー <new>"), ('Flex "quoted"\n',)]


def _contexts(shop: ShopFacts, count: int = 700) -> list[dict[str, object]]:
    """Varied customers: names missing, Japanese, with quotes, HTML, backslashes, a NUL (the
    separator of the fast path); with and without a last order; amounts with fractions."""
    contexts: list[dict[str, object]] = []
    for i in range(count):
        family, given = NAMES[i % len(NAMES)]
        order = None
        if i % 7:
            order = LastOrder(f"#{1000 + i}", dt.date(2026, 11, 1 + i % 28),
                              Decimal(i * 37) / (100 if i % 3 else 1),
                              PRODUCTS[i % len(PRODUCTS)])
        recipient = Recipient(str(i), family, given, f"c{i}@example.jp" if i % 5 else None,
                              order)
        contexts.append({**context_of(recipient, shop), "unsubscribe_url": f"https://u/{i}?a&b"})
    return contexts


def _alone(template: MessageTemplate, context: dict[str, object]) -> str | tuple[str, str]:
    try:
        return template.render_context(context)
    except MessagingError as e:
        return ("error", e.message)


def _many(template: MessageTemplate, contexts: list[dict[str, object]]) -> list[object]:
    return [("error", r.message) if isinstance(r, MessagingError) else r
            for r in template.render_many(contexts)]


TEMPLATES = [
    ("text", "{{ customer.honorific_name }}、いつもありがとうございます。"
             "{% if last_order %}前回は{{ last_order.products | join('、') }}"
             "（{{ last_order.total }}）をご購入いただきました。{% endif %}", {}),
    ("unguarded", "{{ customer.name }}: {{ last_order.name }} {{ last_order.date }}", {}),
    ("loop", "{% for p in last_order.products if last_order %}{{ loop.index }}. {{ p }}\n"
             "{% endfor %}{{ customer.first_name | upper }}", {}),
    ("statements", "{% set n = customer.last_name %}{{ n or 'なし' }} {{ customer.id }}", {}),
    ("html", "<p>{{ customer.name }} {{ last_order.total if last_order else '' }}</p>"
             "<a href=\"{{ unsubscribe_url }}\">stop</a>", {"html": True}),
    ("flex", '{"type": "bubble", "body": {"type": "text", "text": "{{ customer.name }} '
             '{{ last_order.products | join(\', \') if last_order else \'\' }}"}}',
     {"json_text": True}),
    ("unsafe", "{% for c in [customer] %}{{ c.__class__ if c.id | int % 3 == 0 else c.id }}"
               "{% endfor %}", {}),
    ("constant", "冬のセールのお知らせ", {}),
    ("whitespace", "  {%- if last_order %} {{ last_order.total }} {% endif -%}  \n", {}),
]


@pytest.mark.parametrize(("language", "currency"), [("ja", "JPY"), ("en", "USD")])
@pytest.mark.parametrize(("name", "source", "kind"), TEMPLATES, ids=[t[0] for t in TEMPLATES])
def test_many_at_once_is_each_alone(
    language: str, currency: str, name: str, source: str, kind: dict[str, bool]
) -> None:
    shop = ShopFacts("Shop", currency, language)
    template = compile_template(source, extra={"unsubscribe_url"}, **kind)
    contexts = _contexts(shop)
    assert _many(template, contexts) == [_alone(template, c) for c in contexts]


def test_the_fast_path_is_taken_and_its_output_checked() -> None:
    """The cases above run through the loop (not one by one), and the values that must be
    escaped come out escaped (independent of the reference)."""
    shop = ShopFacts("Shop", "JPY", "ja")
    html = compile_template("<b>{{ customer.name }}</b>", html=True)
    flex = compile_template('{"text": "{{ customer.name }}"}', json_text=True)
    assert html._many is not None and flex._many is not None
    rendered_html = html.render_many(_contexts(shop, 9))
    assert rendered_html[5] == "<b>&lt;b&gt;O&#39;Neil&lt;/b&gt; &amp;amp;</b>"
    assert rendered_html[1] == "<b></b>"
    for text in flex.render_many(_contexts(shop, 9)):
        assert isinstance(text, str)
        json.loads(text)  # a name cannot break the JSON around it
    assert json.loads(str(flex.render_many(_contexts(shop, 9))[4]))["text"] == '"引用" a\\b'
    money = compile_template("{{ last_order.total }}")
    assert money.render_many(_contexts(shop, 4))[1:] == ["￥0", "￥1", "￥111"]  # 0.37, 0.74
    usd = ShopFacts("Shop", "USD", "en")
    assert compile_template("{{ last_order.total }}").render_many(_contexts(usd, 3))[1] \
        == "$0.37"
    # loop / set: rendered one by one (their meaning could change inside a loop)
    assert compile_template("{% set a = 1 %}{{ a }}")._many is None


def test_an_error_names_the_customer_alone_and_the_rest_render() -> None:
    shop = ShopFacts("Shop", "JPY", "ja")
    template = compile_template("{{ last_order.name }}")
    rendered = template.render_many(_contexts(shop, 15))
    missing = [i for i, r in enumerate(rendered) if isinstance(r, MessagingError)]
    assert missing == [0, 7, 14]  # no last order: every 7th customer
    assert rendered[1] == "#1001" and rendered[13] == "#1013"
    no_url = compile_template("{{ unsubscribe_url }}", extra={"unsubscribe_url"})
    without = [context_of(Recipient("1"), shop), context_of(Recipient("2"), shop)]
    errors = no_url.render_many(without)
    assert all(isinstance(e, MessagingError) and "unsubscribe_url" in e.message for e in errors)


def test_the_sandbox_short_way_reaches_only_the_named_fields() -> None:
    """Our context objects' fields skip the sandbox's inspection (speed); their private parts
    and Python internals still meet the sandbox: refused, never rendered."""
    shop = ShopFacts("Shop", "JPY", "ja")
    order = LastOrder("#1", dt.date(2026, 11, 2), Decimal("1200"), ("美容液",))
    context = context_of(Recipient("7", "山田", "花子", "h@example.jp", order), shop)
    shown = compile_template("{{ customer.honorific_name }} {{ customer.id }} "
                             "{{ last_order.total }} {{ last_order.products | join('、') }}")
    assert shown.render_context(context) == "山田 花子 様 7 ￥1,200 美容液"
    for source in ("{% for c in [customer] %}{{ c._recipient }}{% endfor %}",
                   "{% for c in [customer] %}{{ c.__class__.__mro__ }}{% endfor %}",
                   "{% for o in [last_order] %}{{ o._order.__init__.__globals__ }}{% endfor %}"):
        with pytest.raises(MessagingError):
            compile_template(source).render_context(context)
