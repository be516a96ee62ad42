"""E-mail link clicks through the web app's redirect (opt-in), on each engine: a campaign's
e-mail, captured by a real SMTP server, carries rewritten links; following one through the
real web app records one click and redirects to the original address; a second click (or
another customer's) counts as it should; a token the workspace did not sign redirects nowhere;
and without the setting the links are left as they were written."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage

import httpx
import pytest

from segmentry.activation.email.channel import EmailChannel
from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.campaigns.engagement import click_token
from segmentry.app.campaigns.report import campaign_report
from segmentry.app.messaging.unsubscribe import key_for, sign
from segmentry.app.workspace import Workspace
from segmentry.core import config
from segmentry.store.campaigns import Step
from segmentry.testing.http import serving
from segmentry.web import create_app

from .conftest import Clock, Mailbox

SALE = "https://shop.example/sale?a=1"
HTML = ('<p><a href="https://shop.example/sale?a=1&amp;b=2">セール</a> '
        '<a href="{{ unsubscribe_url }}">配信停止</a></p>')
BUYERS = ("c1@example.jp", "c2@example.jp", "c3@example.jp", "c4@example.jp")


def _campaign(ws: Workspace, port: int, web_url: str, *, track: bool) -> Campaigns:
    """Campaign ``mail`` (one e-mail step to the four buyers), sent with clicks tracked or not."""
    settings = config.EmailSettings(host="127.0.0.1", port=port, security="none",
                                    from_address="news@shop.example", web_url=web_url,
                                    **({"track_clicks": True} if track else {}))
    ws.settings = config.save_section(ws.folder, "email", settings)
    channel = EmailChannel(settings, None, key_for(ws.folder), lambda: frozenset())
    campaigns = Campaigns(ws, now=Clock(), channels={"email": channel})
    campaigns.add(CampaignDefinition("mail", "buyers", "once", (
        Step("news", 0, None, ("email",), f"春のセール→{SALE}。お待ちしています", subject="セール",
             html=HTML),)))
    campaigns.run("mail")
    return campaigns


def _parts(mail: EmailMessage) -> tuple[str, str]:
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


@pytest.fixture
def web(shop: Workspace) -> Iterator[str]:
    with serving(create_app(shop.folder, workspace=shop)) as url:
        yield url


def test_a_click_is_recorded_once_and_redirected(
    shop: Workspace, smtp: tuple[Mailbox, int], web: str
) -> None:
    mailbox, port = smtp
    _campaign(shop, port, web, track=True)
    assert sorted(m["To"] for m in mailbox.messages) == list(BUYERS)
    text, html = _parts(mailbox.to("c1@example.jp")[0])
    (text_link,) = re.findall(rf"{re.escape(web)}/r/[A-Za-z0-9_.\-]+", text)
    assert text.rstrip().endswith("。お待ちしています") and SALE not in text
    html_links = re.findall(r'href="([^"]+)"', html)
    assert len(html_links) == 2 and html_links[0].startswith(f"{web}/r/")
    assert html_links[1].startswith(f"{web}/unsubscribe?t=")  # the web app's own: as it was

    with httpx.Client(follow_redirects=False, timeout=30) as client:
        first = client.get(text_link)
        assert first.status_code == 302 and first.headers["location"] == SALE
        again = client.get(text_link)
        assert again.status_code == 302 and again.headers["location"] == SALE
        other = client.get(html_links[0])
        assert other.headers["location"] == "https://shop.example/sale?a=1&b=2"
    (row,) = campaign_report(shop, "mail", now=Clock()).engagement
    assert (row.channel, row.delivered, row.tracked, row.unique_clickers) == (
        "email", 4, True, 1)
    assert row.click_rate == pytest.approx(1 / 4)

    _, html2 = _parts(mailbox.to("c2@example.jp")[0])
    second_customer = re.findall(r'href="([^"]+)"', html2)[0]
    assert httpx.get(second_customer, follow_redirects=False).status_code == 302
    (row,) = campaign_report(shop, "mail", now=Clock()).engagement
    assert row.unique_clickers == 2 and row.click_rate == pytest.approx(2 / 4)
    assert campaign_report(shop, "mail", now=Clock()).to_dict()["engagement"] == [
        {"step": "news", "channel": "email", "delivered": 4,
         "email": {"tracked": True, "unique_clickers": 2, "click_rate": 0.5}}]


def test_a_token_the_workspace_did_not_sign_redirects_nowhere(
    shop: Workspace, smtp: tuple[Mailbox, int], web: str
) -> None:
    mailbox, port = smtp
    _campaign(shop, port, web, track=True)
    text, _ = _parts(mailbox.to("c1@example.jp")[0])
    (link,) = re.findall(rf"{re.escape(web)}/r/[A-Za-z0-9_.\-]+", text)
    token = link.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    forged = [
        click_token(b"another workspace's key", 1, "c1", "https://evil.example/"),
        f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{mac}",  # changed
        token[:-3],  # cut short
        sign(key_for(shop.folder), "c1", "https://evil.example/"),  # an unsubscribe token
        "not-a-token",
    ]
    for bad in forged:
        answer = httpx.get(f"{web}/r/{bad}", follow_redirects=False)
        assert answer.status_code == 404, bad
        assert "location" not in answer.headers
        assert answer.json()["error"]["code"] == "bad_link"
    (row,) = campaign_report(shop, "mail", now=Clock()).engagement
    assert row.unique_clickers == 0


def test_without_the_setting_links_are_left_alone(
    shop: Workspace, smtp: tuple[Mailbox, int], web: str
) -> None:
    mailbox, port = smtp
    _campaign(shop, port, web, track=False)
    text, html = _parts(mailbox.to("c1@example.jp")[0])
    assert SALE in text and "/r/" not in text and "/r/" not in html
    assert 'href="https://shop.example/sale?a=1&amp;b=2"' in html
    (row,) = campaign_report(shop, "mail", now=Clock()).engagement
    assert (row.delivered, row.tracked, row.unique_clickers, row.click_rate) == (
        4, False, None, None)
