"""What the messaging pages and their JSON twins show: the channels' settings (credentials
masked), a send's request, its dry run and preview, and the delivery log. Each page's context
is one of these models (docs/web.md, "Messages").

Credentials are kept in the workspace's ``secrets`` file (:mod:`segmentry.core.secrets`) and
shown only as their last four characters; the settings pages never put them in HTML.

>>> mask("abcdefghijklmnop"), mask("short"), mask(None)
('••••mnop', '••••', None)
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from segmentry.activation.email.plugin import PASSWORD_SECRET
from segmentry.activation.line.plugin import CHANNEL_SECRET, TOKEN_SECRET
from segmentry.app.messaging.sending import SendPlan
from segmentry.app.messaging.service import DeliveryLog, Message
from segmentry.core import config
from segmentry.core.secrets import load_secret, save_secret
from segmentry.store.outbox import STATUSES, OutboxRow, Send
from segmentry.web.schemas import UtcDatetime

__all__ = [
    "ChannelsOut",
    "DryRunOut",
    "EmailChannelIn",
    "EmailChannelOut",
    "LineChannelIn",
    "LineChannelOut",
    "LineCheckOut",
    "LogRowOut",
    "PreviewOut",
    "SendIn",
    "SendLogOut",
    "SendOut",
    "SendsOut",
    "channels_of",
    "dry_run_out",
    "log_out",
    "mask",
    "new_key",
    "save_email",
    "save_line",
    "send_out",
]

LOG_PAGE = 50  # rows of a delivery log per page


def mask(secret: str | None) -> str | None:
    """A secret as the settings show it: its last four characters (none of a short one)."""
    if not secret:
        return None
    return "••••" + (secret[-4:] if len(secret) >= 12 else "")


def new_key() -> str:
    """A send's key, made when its form is shown: a double click posts the same key twice,
    and the second finds the first send."""
    return f"web-{uuid.uuid4().hex[:16]}"


# ------------------------------------------------------------------ channels in settings


class LineChannelOut(BaseModel):
    name: str
    token: str | None = Field(description="The channel access token's last 4 characters.")
    channel_secret: str | None = Field(description="The channel secret's last 4 characters.")
    from_env: bool = Field(description="The token comes from an environment variable.")


class EmailChannelOut(BaseModel):
    host: str
    port: int
    security: str
    username: str | None
    from_address: str
    from_name: str
    web_url: str
    password: str | None = Field(description="The SMTP password's last 4 characters.")
    from_env: bool = Field(description="The password comes from an environment variable.")


class ChannelsOut(BaseModel):
    line: LineChannelOut | None = None
    email: EmailChannelOut | None = None


class LineChannelIn(BaseModel):
    name: str = Field("LINE", min_length=1, max_length=100,
                      description="The account's name as the web app shows it.")
    token: str = Field("", max_length=1000, description="Channel access token (long-lived); "
                       "empty keeps the stored one.")
    channel_secret: str = Field("", max_length=200,
                                description="Channel secret; empty keeps the stored one.")


class EmailChannelIn(BaseModel):
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str = Field("", max_length=320)
    password: str = Field("", max_length=1000, description="Empty keeps the stored one.")
    from_address: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    from_name: str = Field("", max_length=200)
    web_url: str = Field(min_length=8, max_length=500, pattern=r"^https?://\S+$",
                         description="Where customers reach this web app (unsubscribe links).")


class LineCheckOut(BaseModel):
    ok: bool
    quota_left: int | None = Field(None, description="Messages left this month (None: no "
                                                     "limit).")


def channels_of(folder: Path, settings: config.Settings) -> ChannelsOut:
    line, email = settings.line, settings.email
    out = ChannelsOut()
    if line is not None:
        token = load_secret(folder, TOKEN_SECRET, line.token_env)
        out.line = LineChannelOut(
            name=line.name, token=mask(token),
            channel_secret=mask(load_secret(folder, CHANNEL_SECRET, line.channel_secret_env)),
            from_env=bool(token) and load_secret(folder, TOKEN_SECRET) != token)
    if email is not None:
        password = load_secret(folder, PASSWORD_SECRET, email.password_env)
        out.email = EmailChannelOut(
            host=email.host, port=email.port, security=email.security,
            username=email.username, from_address=email.from_address,
            from_name=email.from_name, web_url=email.web_url, password=mask(password),
            from_env=bool(password) and load_secret(folder, PASSWORD_SECRET) != password)
    return out


def save_line(folder: Path, settings: config.Settings, body: LineChannelIn) -> config.Settings:
    """``[line]`` written (the endpoint and variable names kept), the credentials stored in the
    secrets file. A first save needs the token."""
    old = settings.line or config.LineSettings.model_validate({})
    if body.token.strip():
        save_secret(folder, TOKEN_SECRET, body.token.strip())
    if body.channel_secret.strip():
        save_secret(folder, CHANNEL_SECRET, body.channel_secret.strip())
    return config.save_section(folder, "line", old.model_copy(update={"name": body.name.strip()}))


def save_email(folder: Path, settings: config.Settings, body: EmailChannelIn) -> config.Settings:
    if body.password:
        save_secret(folder, PASSWORD_SECRET, body.password)
    old = settings.email
    section = config.EmailSettings.model_validate({
        "host": body.host.strip(), "port": body.port, "security": body.security,
        "username": body.username.strip() or None, "from_address": body.from_address.strip(),
        "from_name": body.from_name.strip(), "web_url": body.web_url.strip().rstrip("/"),
        **({"password_env": old.password_env, "timeout": old.timeout,
            "track_clicks": old.track_clicks} if old else {}),
    })
    return config.save_section(folder, "email", section)


# ------------------------------------------------------------------ a send


class SendIn(BaseModel):
    """A message to a segment: the same fields as ``segmentry send``."""

    channel: Literal["line", "email"]
    body: str = Field(min_length=1, max_length=50_000, description="The message, a template.")
    subject: str | None = Field(None, max_length=1000, description="E-mail subject (template).")
    html: str | None = Field(None, max_length=50_000, description="E-mail HTML (template).")
    transactional: bool = False
    language: Literal["ja", "en"] = "ja"
    key: str = Field("", max_length=200, description="Asking again with the same key finds "
                     "the first send and never sends twice (default: a new send).")
    customer_id: str | None = Field(None, max_length=200,
                                    description="Preview: this member (default: the first).")

    def message(self) -> Message:
        subject = (self.subject or None) if self.channel == "email" else None
        html = (self.html or None) if self.channel == "email" else None
        return Message(self.body, subject, html, self.transactional, self.language)


class DryRunOut(BaseModel):
    channel: str
    members: int = Field(description="The segment's members on the send day.")
    recipients: int = Field(description="Members who would get the message.")
    skipped: dict[str, int] = Field(description="Members skipped, per reason (not_subscribed, "
                                    "unsubscribed, no_email, unlinked, blocked, capped, "
                                    "template).")
    quota_left: int | None = Field(description="Messages the channel may still send this "
                                   "month (None: no limit).")
    waiting_for_quiet_hours: int = Field(description="Recipients held until quiet hours end.")


class PreviewOut(BaseModel):
    customer_id: str
    body: str | None = Field(description="The message this member would get (None: skipped).")
    subject: str | None = None
    skipped: str | None = Field(None, description="Why this member would be skipped.")


class SendOut(BaseModel):
    key: str
    segment: str
    channel: str
    status: str
    transactional: bool
    created_at: UtcDatetime
    finished_at: UtcDatetime | None = None
    counts: dict[str, int] = Field(description="Rows per status: pending, sending, delivered, "
                                   "failed, skipped, uncertain.")


class SendsOut(BaseModel):
    sends: list[SendOut]


class LogRowOut(BaseModel):
    customer_id: str
    address: str | None
    status: str
    reason: str | None = None
    detail: str | None = None
    attempts: int = 0
    delivered_at: UtcDatetime | None = None


class SendLogOut(BaseModel):
    send: SendOut
    body: str
    subject: str | None = None
    reasons: dict[str, int] = Field(description="Skipped or failed rows per reason.")
    status: str | None = Field(None, description="The rows shown are of this status.")
    page: int
    pages: int
    rows: list[LogRowOut]


def dry_run_out(plan: SendPlan, members: int) -> DryRunOut:
    return DryRunOut(channel=plan.channel, members=members, recipients=plan.recipients,
                     skipped=dict(sorted(plan.skipped.items())), quota_left=plan.quota_left,
                     waiting_for_quiet_hours=plan.waiting_for_quiet_hours)


def send_out(send: Send, counts: dict[str, int]) -> SendOut:
    return SendOut(key=send.key, segment=send.segment, channel=send.channel, status=send.status,
                   transactional=send.transactional, created_at=send.created_at,
                   finished_at=send.finished_at,
                   counts={s: counts.get(s, 0) for s in STATUSES})


def log_out(log: DeliveryLog, status: str | None, page: int) -> SendLogOut:
    """Page ``page`` of ``log`` (whose rows are that page's)."""
    total = log.counts.get(status, 0) if status else sum(log.counts.values())
    pages = max(1, -(-total // LOG_PAGE))
    return SendLogOut(send=send_out(log.send, log.counts), body=log.send.body,
                      subject=log.send.subject, reasons=log.reasons, status=status, page=page,
                      pages=pages, rows=[_row(r) for r in log.rows])


def _row(row: OutboxRow) -> LogRowOut:
    return LogRowOut(customer_id=row.customer_id, address=row.address, status=row.status,
                     reason=row.reason, detail=row.detail, attempts=row.attempts,
                     delivered_at=row.delivered_at)
