"""E-mail over SMTP: multipart text + HTML, with RFC 8058 one-click unsubscription.

Every marketing message carries ``List-Unsubscribe`` (the web app's unsubscribe page, signed
for the recipient) and ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, so a mail client
can unsubscribe with one POST. Only customers whose e-mail marketing consent is ``SUBSCRIBED``
(Shopify's ``email_marketing_consent``) and who have not unsubscribed here get marketing
messages; a send marked transactional skips the consent check (and carries no unsubscribe
header).

SMTP has no idempotency key: a message the server accepted cannot be recognised when asked
for again, so this channel is not repeat-safe (:mod:`segmentry.app.messaging.sending` settles
an interrupted row ``uncertain`` instead of sending it twice). Each message gets a
``Message-ID`` made from its outbox retry key, the same on every attempt.
"""

from __future__ import annotations

import email.policy
import smtplib
import ssl
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from email.message import EmailMessage
from email.utils import formataddr

from segmentry.app.campaigns.engagement import (
    click_token,
    click_url,
    is_campaign_send,
    track_links,
)
from segmentry.app.messaging.audience import Member
from segmentry.app.messaging.sending import ChannelDownError, Outcome
from segmentry.app.messaging.unsubscribe import link, sign
from segmentry.core.config import EmailSettings
from segmentry.core.errors import MessagingError
from segmentry.store.outbox import OutboxRow, Planned, Send

__all__ = ["EmailChannel"]

# NOTE: lines up to SMTP's 998 characters: the default 78 would fold the long unsubscribe URL
# into RFC 2047 encoded words, which no mail client reads as a URL.
_POLICY = email.policy.SMTP.clone(max_line_length=998)


class EmailChannel:
    name = "email"
    batch_size = 1
    large_batch = None
    parallel = 1
    repeat_safe = False
    fields = frozenset({"unsubscribe_url"})

    def __init__(
        self,
        settings: EmailSettings,
        password: str | None,
        unsubscribe_key: bytes,
        unsubscribed: Callable[[], Collection[str]] = frozenset,
        *,
        connect: Callable[[EmailSettings], smtplib.SMTP] | None = None,
    ) -> None:
        self.settings = settings
        self._password = password
        self._key = unsubscribe_key
        self._unsubscribed = unsubscribed
        self._gone: Collection[str] | None = None
        self._connect = connect or _connect

    def address(self, member: Member, *, transactional: bool) -> tuple[str | None, str | None]:
        email = (member.recipient.email or "").strip()
        if not email or "@" not in email:
            return None, "no_email"
        if transactional:
            return email, None
        if (member.email_marketing_state or "").upper() != "SUBSCRIBED":
            return None, "not_subscribed"
        if self._gone is None:
            self._gone = {e.lower() for e in self._unsubscribed()}
        if email.lower() in self._gone:
            return None, "unsubscribed"
        return email, None

    def values_for(self, member: Member) -> Mapping[str, object]:
        email = member.recipient.email or ""
        return {"unsubscribe_url": _Later(lambda: self._link(member.recipient.customer_id,
                                                             email))}

    def remaining_quota(self) -> int | None:
        return None

    def check(self, row: Planned) -> str | None:
        return None

    def deliver(self, send: Send, rows: Sequence[OutboxRow], retry_key: str) -> Sequence[Outcome]:
        try:
            server = self._connect(self.settings)
        except (OSError, smtplib.SMTPException) as e:
            raise ChannelDownError(
                "The mail server {host}:{port} cannot be reached: {problem}",
                code="channel_unavailable",
                params={"host": self.settings.host, "port": self.settings.port,
                        "problem": str(e) or type(e).__name__},
            ) from e
        try:
            self._login(server)
            return [self._send(server, row, send) for row in rows]
        finally:
            try:
                server.quit()
            except (OSError, smtplib.SMTPException):
                server.close()

    def _login(self, server: smtplib.SMTP) -> None:
        if not self.settings.username:
            return
        try:
            server.login(self.settings.username, self._password or "")
        except smtplib.SMTPAuthenticationError as e:
            raise ChannelDownError(
                "The mail server refused the login for {user}: {problem}",
                code="channel_token",
                hint="Check the SMTP user name and password in the e-mail settings.",
                params={"user": self.settings.username, "problem": _reply(e)},
            ) from e

    def _send(self, server: smtplib.SMTP, row: OutboxRow, send: Send) -> Outcome:
        mail = self._message(self._tracked(row, send), send.transactional)
        try:
            refused = server.send_message(mail)
        except smtplib.SMTPRecipientsRefused as e:
            return Outcome(row.id, "failed", "refused", _reply(e))
        except smtplib.SMTPResponseException as e:
            if 400 <= e.smtp_code < 500:
                raise ChannelDownError(
                    "The mail server asked to try later: {problem}",
                    code="channel_unavailable",
                    params={"problem": _reply(e)},
                ) from e
            return Outcome(row.id, "failed", "refused", _reply(e))
        except (OSError, smtplib.SMTPException) as e:
            raise MessagingError(
                "The connection to the mail server broke while sending: {problem}",
                code="channel_unavailable",
                params={"problem": str(e) or type(e).__name__},
            ) from e
        if refused:
            return Outcome(row.id, "failed", "refused", str(refused))
        return Outcome(row.id, "delivered")

    def _message(self, row: OutboxRow, transactional: bool) -> EmailMessage:
        assert row.address is not None
        mail = EmailMessage(policy=_POLICY)
        mail["From"] = formataddr((self.settings.from_name, self.settings.from_address))
        mail["To"] = row.address
        mail["Subject"] = row.subject or ""
        domain = self.settings.from_address.rpartition("@")[2] or "segmentry.invalid"
        mail["Message-ID"] = f"<{row.retry_key}@{domain}>"
        if not transactional:
            url = self._link(row.customer_id, row.address)
            mail["List-Unsubscribe"] = f"<{url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(row.body or "")
        if row.html:
            mail.add_alternative(row.html, subtype="html")
        return mail

    def _tracked(self, row: OutboxRow, send: Send) -> OutboxRow:
        """``row`` with its links through the web app's click redirect, when clicks are
        tracked (``track_clicks``) and it is a campaign's message; else as it is."""
        if not self.settings.track_clicks or not is_campaign_send(send.key):
            return row

        def link(url: str) -> str:
            token = click_token(self._key, send.id, row.customer_id, url)
            return click_url(self.settings.web_url, token)

        keep = [self.settings.web_url.rstrip("/") + "/"]
        return replace(
            row, body=track_links(row.body or "", html=False, link=link, keep=keep),
            html=None if row.html is None else track_links(row.html, html=True, link=link,
                                                           keep=keep))

    def _link(self, customer_id: str, email: str) -> str:
        return link(self.settings.web_url, sign(self._key, customer_id, email))


class _Later:
    """A value a template prints, worked out only if it does (a signed link costs a little,
    times a million members)."""

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make

    def __str__(self) -> str:
        return self._make()

    def __html__(self) -> str:
        return self._make()


def _connect(settings: EmailSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.security == "tls":
        return smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                context=context)
    server = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.security == "starttls":
        server.starttls(context=context)
    return server


def _reply(error: smtplib.SMTPException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        words = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{error.smtp_code} {words}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {msg.decode(errors='replace')}"
                         for code, msg in error.recipients.values())
    return str(error)
