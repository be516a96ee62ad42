"""A thin client over the official ``line-bot-sdk`` (v3) for one LINE channel.

Every send carries an ``X-Line-Retry-Key``. An outbox derives it with :func:`retry_key` from
what it is sending (the send, the batch), so a batch tried again — after a timeout, a 5xx or a
crash and rerun — carries the same key and LINE delivers it once: a repeat is answered 409,
which :class:`Outcome` reports as ``ok`` and ``duplicate``. Messages are checked with the SDK's
models first (:func:`~segmentry.activation.line.messages.validate_messages`). Retries and the
mapping of LINE's errors live in :mod:`segmentry.activation.line.retrying`.

    >>> from segmentry.testing.line import FakeLine
    >>> with FakeLine() as line, LineClient(LineChannel(line.token, host=line.url)) as client:
    ...     alice = line.add_user()
    ...     key = retry_key("send 7", "batch 1")
    ...     first = client.push(alice, [{"type": "text", "text": "hi"}], retry_key=key)
    ...     again = client.push(alice, [{"type": "text", "text": "hi"}], retry_key=key)
    ...     (first.ok, first.duplicate), (again.ok, again.duplicate), line.texts(alice)
    ((True, False), (True, True), ['hi'])
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from linebot.v3 import audience, insight, messaging

from segmentry.activation.line.messages import MessageInput, validate_messages
from segmentry.activation.line.retrying import Backoff, Calls, Outcome, Pacing
from segmentry.core.errors import LineError

__all__ = ["MAX_AUDIENCE_JSON", "MAX_MULTICAST", "LineChannel", "LineClient",
           "NarrowcastProgress", "Quota", "raise_refused", "retry_key"]

MAX_MULTICAST = 500  # user ids in one multicast (and in one bulk rich menu link)
MAX_AUDIENCE_JSON = 10_000  # user ids in one JSON audience upload; more go by file
_NAMESPACE = uuid.UUID("7d0c7a4e-3a57-4bd5-9a3c-5b0f2c4b1e6d")  # segmentry's retry keys
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def retry_key(*parts: object) -> str:
    """A stable ``X-Line-Retry-Key`` (a UUID, as LINE asks) for what ``parts`` name.

    >>> retry_key("send 7", "batch 1") == retry_key("send 7", "batch 1")
    True
    >>> retry_key("send 7", "batch 1") == retry_key("send 7", "batch 2")
    False
    """
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(str(p) for p in parts)))


@dataclass(frozen=True)
class LineChannel:
    """One LINE channel's credentials. ``host`` is None for LINE's own servers; tests give the
    fake's URL (the SDK joins it to paths, so no trailing slash)."""

    access_token: str
    channel_secret: str = ""
    name: str = "the LINE channel"  # how messages name it
    host: str | None = None

    def __repr__(self) -> str:  # NOTE: never show the secrets in logs or tracebacks
        return f"LineChannel(name={self.name!r}, host={self.host!r})"


@dataclass(frozen=True)
class Quota:
    """The channel's monthly message quota: ``limit`` (None: no limit) and ``used``."""

    limit: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


@dataclass(frozen=True)
class NarrowcastProgress:
    """``phase``: waiting, sending, succeeded or failed (LINE's words)."""

    phase: str
    success: int | None
    failure: int | None
    target: int | None
    failed_description: str | None = None


class LineClient:
    """The calls segmentry makes to one LINE channel (see the module docstring)."""

    def __init__(self, channel: LineChannel, *, backoff: Backoff | None = None,
                 pacing: Pacing | None = None) -> None:
        self.channel = channel
        self.backoff = backoff or Backoff()
        self.pacing = pacing or Pacing()  # LINE's published rate limits, per endpoint
        self.calls = Calls(channel.name, channel.access_token, self.backoff, self.pacing)
        config = messaging.Configuration(host=channel.host, access_token=channel.access_token)
        config.retries = 0  # NOTE: retries are ours (retrying.py), not urllib3's
        self._client = messaging.ApiClient(config)
        self.api = messaging.MessagingApi(self._client)
        audience_config = audience.Configuration(host=channel.host,
                                                 access_token=channel.access_token)
        audience_config.retries = 0
        self._audience_client = audience.ApiClient(audience_config)
        self.audiences = audience.ManageAudience(self._audience_client)
        self.audience_files = audience.ManageAudienceBlob(self._audience_client)
        insight_config = insight.Configuration(host=channel.host,
                                               access_token=channel.access_token)
        insight_config.retries = 0
        self._insight_client = insight.ApiClient(insight_config)
        self.insight = insight.Insight(self._insight_client)

    def close(self) -> None:
        self._client.close()
        self._audience_client.close()
        self._insight_client.close()

    def __enter__(self) -> LineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ sending

    def push(self, user_id: str, messages: Sequence[MessageInput], *, retry_key: str,
             notification_disabled: bool = False, unit: str | None = None) -> Outcome:
        """Send ``messages`` (1 to 5) to one user. A user who blocked the channel is not an
        error to LINE: it answers 200 and delivers nothing. ``unit``: the aggregation unit
        LINE counts the message's impressions and clicks under (:meth:`unit_statistics`)."""
        request = messaging.PushMessageRequest(
            to=user_id, messages=validate_messages(messages),
            notificationDisabled=notification_disabled,
            customAggregationUnits=_units(unit))
        return self.calls.call("push", lambda: self.api.push_message_with_http_info(
            request, x_line_retry_key=_checked(retry_key), _request_timeout=self._timeout()),
            retry_key=retry_key)

    def multicast(self, user_ids: Sequence[str], messages: Sequence[MessageInput], *,
                  retry_key: str, notification_disabled: bool = False,
                  unit: str | None = None) -> Outcome:
        """Send the same ``messages`` to up to :data:`MAX_MULTICAST` users in one call (LINE
        skips blocked users without a word); ``unit`` as for :meth:`push`."""
        if not 1 <= len(user_ids) <= MAX_MULTICAST:
            raise ValueError(f"a multicast takes 1 to {MAX_MULTICAST} user ids, not "
                             f"{len(user_ids)}")
        request = messaging.MulticastRequest(
            to=list(user_ids), messages=validate_messages(messages),
            notificationDisabled=notification_disabled,
            customAggregationUnits=_units(unit))
        return self.calls.call("multicast", lambda: self.api.multicast_with_http_info(
            request, x_line_retry_key=_checked(retry_key), _request_timeout=self._timeout()),
            retry_key=retry_key)

    def narrowcast(self, audience_group_id: int, messages: Sequence[MessageInput], *,
                   retry_key: str, max_recipients: int | None = None) -> Outcome:
        """Send ``messages`` to an uploaded audience; LINE sends in the background, so the
        outcome's ``request_id`` is what :meth:`narrowcast_progress` follows."""
        request = messaging.NarrowcastRequest(
            messages=validate_messages(messages),
            recipient=messaging.AudienceRecipient(audienceGroupId=audience_group_id),
            limit=messaging.Limit(max=max_recipients) if max_recipients else None)
        return self.calls.call("narrowcast", lambda: self.api.narrowcast_with_http_info(
            request, x_line_retry_key=_checked(retry_key), _request_timeout=self._timeout()),
            retry_key=retry_key)

    def narrowcast_progress(self, request_id: str) -> NarrowcastProgress:
        outcome = self.calls.call("narrowcast progress", lambda:
                                  self.api.get_narrowcast_progress_with_http_info(
                                      request_id, _request_timeout=self._timeout()))
        self._require(outcome)
        data = outcome.data
        return NarrowcastProgress(data.phase, data.success_count, data.failure_count,
                                  data.target_count, data.failed_description)

    def quota(self) -> Quota:
        """The monthly quota and what this month used of it (two calls)."""
        limit = self.calls.call("quota", lambda: self.api.get_message_quota_with_http_info(
            _request_timeout=self._timeout()))
        used = self.calls.call("quota consumption", lambda:
                               self.api.get_message_quota_consumption_with_http_info(
                                   _request_timeout=self._timeout()))
        self._require(limit)
        self._require(used)
        kind = getattr(limit.data.type, "value", limit.data.type)  # QuotaType, an enum
        value = limit.data.value if kind == "limited" else None
        return Quota(value, int(used.data.total_usage))

    def unit_statistics(self, unit: str, day_from: dt.date, day_to: dt.date) -> dict[str, Any]:
        """LINE's statistics of the messages sent under aggregation ``unit`` from ``day_from``
        to ``day_to`` (LINE's days, UTC+9; at most 30 days after ``day_from``), in LINE's JSON
        shape: ``overview`` (``uniqueImpression``, ``uniqueClick``, …), ``messages``,
        ``clicks``. LINE answers null for a figure under 20."""
        outcome = self.calls.call("unit statistics", lambda:
                                  self.insight.get_statistics_per_unit_with_http_info(
                                      unit, day_from.strftime("%Y%m%d"),
                                      day_to.strftime("%Y%m%d"),
                                      _request_timeout=self._timeout()))
        data = self._require(outcome)
        answer: dict[str, Any] = data.to_dict()
        return answer

    # ------------------------------------------------------------ audiences

    def create_audience(self, description: str, user_ids: Sequence[str], *,
                        by_file: bool | None = None) -> int:
        """Upload ``user_ids`` as a new audience; its ``audienceGroupId``. More than
        :data:`MAX_AUDIENCE_JSON` ids go as a file (LINE's by-file upload), as ``by_file`` asks."""
        if by_file is None:
            by_file = len(user_ids) > MAX_AUDIENCE_JSON
        if by_file:
            outcome = self._upload_file(description, user_ids)
        else:
            request = audience.CreateAudienceGroupRequest(
                description=description, audiences=[audience.Audience(id=u) for u in user_ids])
            outcome = self.calls.call("audience upload", lambda:
                                      self.audiences.create_audience_group_with_http_info(
                                          request, _request_timeout=self._timeout()))
        self._require(outcome)
        return int(outcome.data.audience_group_id)

    def _upload_file(self, description: str, user_ids: Sequence[str]) -> Outcome:
        # NOTE: the SDK opens the file by its path, so the ids go through a temporary file
        with tempfile.TemporaryDirectory(prefix="segmentry-line-") as folder:
            path = Path(folder) / "user_ids.txt"
            path.write_text("".join(f"{u}\n" for u in user_ids), encoding="utf-8")
            return self.calls.call("audience upload by file", lambda:
                                   self.audience_files
                                   .create_audience_for_uploading_user_ids_with_http_info(
                                       str(path), description=description,
                                       _request_timeout=self._timeout()))

    # ------------------------------------------------------------ rich menus

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> Outcome:
        return self.calls.call("rich menu link", lambda:
                               self.api.link_rich_menu_id_to_user_with_http_info(
                                   user_id, rich_menu_id, _request_timeout=self._timeout()))

    def unlink_rich_menu(self, user_id: str) -> Outcome:
        return self.calls.call("rich menu unlink", lambda:
                               self.api.unlink_rich_menu_id_from_user_with_http_info(
                                   user_id, _request_timeout=self._timeout()))

    def link_rich_menu_bulk(self, rich_menu_id: str, user_ids: Sequence[str]) -> Outcome:
        """Link a rich menu to up to :data:`MAX_MULTICAST` users (LINE links them in the
        background)."""
        request = messaging.RichMenuBulkLinkRequest(richMenuId=rich_menu_id,
                                                    userIds=list(user_ids))
        return self.calls.call("rich menu bulk link", lambda:
                               self.api.link_rich_menu_id_to_users_with_http_info(
                                   request, _request_timeout=self._timeout()))

    def unlink_rich_menu_bulk(self, user_ids: Sequence[str]) -> Outcome:
        request = messaging.RichMenuBulkUnlinkRequest(userIds=list(user_ids))
        return self.calls.call("rich menu bulk unlink", lambda:
                               self.api.unlink_rich_menu_id_from_users_with_http_info(
                                   request, _request_timeout=self._timeout()))

    # ------------------------------------------------------------ helpers

    def _timeout(self) -> tuple[float, float]:
        return self.backoff.timeout

    def _require(self, outcome: Outcome) -> Any:
        """``outcome``'s data; a refusal where segmentry sent nothing wrong is LINE's error."""
        if not outcome.ok:
            raise_refused(self.channel.name, outcome)
        return outcome.data


def raise_refused(channel: str, outcome: Outcome) -> None:
    """Raise :class:`LineError` ``line_refused`` with LINE's reason for ``outcome``."""
    raise LineError("LINE refused a call on {channel}: {reason}",
                    code="line_refused",
                    params={"channel": channel,
                            "reason": "; ".join([outcome.reason or "", *outcome.details])})


def _units(unit: str | None) -> list[str] | None:
    return None if unit is None else [unit]


def _checked(key: str) -> str:
    if not _UUID.match(key):
        raise ValueError(f"an X-Line-Retry-Key is a UUID, not {key!r}")
    return key
