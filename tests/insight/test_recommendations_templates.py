"""``{{ recommended_products }}`` in message templates: checked when saved, filled from the
stored table when a send is planned (the preview shows a member's own list), on each engine.

The store is recommendations_fixtures.HAND; its lists are worked out in
test_recommendations.py: c4 gets p2 (やさしい泡洗顔フォーム, ￥2,400), p3 (椿ヘアオイル,
￥3,300), p4; c6 never ordered and gets the popularity list, p1 (ビタミンC美容液) first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentry.activation.email.channel import EmailChannel
from segmentry.app.insight.recommendations import RecommendationService
from segmentry.app.messaging.sending import SendRequest, plan_send
from segmentry.app.messaging.templates import (
    Recipient,
    RecommendedProduct,
    ShopFacts,
    compile_template,
)
from segmentry.app.workspace import Workspace
from segmentry.core.config import EmailSettings
from segmentry.core.errors import MessagingError

from . import recommendations_fixtures as fx

DAY = dt.date(2024, 3, 31)
NOON = dt.datetime(2024, 4, 1, 3, 0)  # 12:00 Tokyo, outside quiet hours
BODY = ("{{ customer.honorific_name }}へのおすすめ:\n"
        "{% for p in recommended_products[:2] %}{{ p.title }} {{ p.price }} {{ p.url }}\n"
        "{% endfor %}")


@pytest.fixture
def shop(tmp_path: Path, warehouse_url: str) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path / "shop", warehouse_url=warehouse_url)
    ws.import_tables(fx.store(fx.HAND))
    ws.run(DAY)
    ws.add_segment("everyone", "number_of_orders >= 0")
    ws.settings.messaging.product_url = "https://shop.example/products/{product_id}"
    try:
        yield ws
    finally:
        ws.close()


def _plan(ws: Workspace) -> dict[str, str | None]:
    channel = EmailChannel(
        EmailSettings(host="127.0.0.1", port=25, security="none", from_address="n@shop.example",
                      web_url="https://crm.shop.example"), None, b"k" * 32, frozenset)
    segment = ws.segment("everyone")
    assert segment.membership_key is not None
    request = SendRequest(segment="everyone", membership_key=segment.membership_key, day=DAY,
                          body=BODY, key="recs", subject="おすすめ", transactional=True)
    return {row.customer_id: row.body for row in plan_send(ws, channel, request, now=NOON).rows}


def test_a_members_message_shows_their_recommendations(shop: Workspace) -> None:
    before = _plan(shop)
    assert before["c4"] == "山田c4 花子 様へのおすすめ:\n"  # nothing stored yet: an empty list
    RecommendationService(shop).refresh()
    bodies = _plan(shop)
    assert bodies["c4"] == (
        "山田c4 花子 様へのおすすめ:\n"
        "やさしい泡洗顔フォーム ￥2,400 https://shop.example/products/p2\n"
        "椿ヘアオイル ￥3,300 https://shop.example/products/p3\n")
    assert bodies["c6"] == (
        "山田c6 花子 様へのおすすめ:\n"
        "ビタミンC美容液 ￥5,000 https://shop.example/products/p1\n"
        "やさしい泡洗顔フォーム ￥2,400 https://shop.example/products/p2\n")


@pytest.mark.parametrize("source, hint", [
    ("{% for p in recommended_products %}{{ p.titel }}{% endfor %}", "Did you mean p.title?"),
    ("{{ recommended_products[0].prise }}", "Did you mean recommended_products[…].price?"),
    ("{{ recomended_products }}", "Did you mean recommended_products?"),
])
def test_unknown_product_fields_are_refused_when_saved(source: str, hint: str) -> None:
    with pytest.raises(MessagingError) as raised:
        compile_template(source)
    assert raised.value.code == "template_unknown_field"
    assert raised.value.hint == hint


def test_titles_join_and_missing_price() -> None:
    t = compile_template("{{ recommended_products | join('、') }}/"
                         "{{ recommended_products[1].price }}")
    recipient = Recipient("1", recommended_products=(
        RecommendedProduct("椿ヘアオイル", "", None), RecommendedProduct("化粧水", "", None)))
    assert t.render(recipient, ShopFacts("S", "JPY", "ja")) == "椿ヘアオイル、化粧水/"
