"""The LINE platform the fake serves, without the sockets: each request in, LINE's answer out.

:meth:`LinePlatform.handle` takes a method, a path, headers and a body and returns
``(status, JSON body, headers)``; :mod:`segmentry.testing.line.server` puts it on loopback.

    >>> line = LinePlatform(token="t")
    >>> alice = line.add_user()
    >>> status, body, _ = line.handle("POST", "/v2/bot/message/push", {"Authorization": "Bearer t"},
    ...     {"to": alice, "messages": [{"type": "text", "text": "hi"}]})
    >>> status, line.texts(alice), line.quota_used
    (200, ['hi'], 1)
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from segmentry.testing.line.insight import UnitStatistics, unit_problems
from segmentry.testing.line.limits import DEFAULT_RATE_LIMITS, RateLimits
from segmentry.testing.line.validation import error_body, message_problems, utf16_length

__all__ = ["Delivered", "LinePlatform", "Narrowcast", "RequestSeen", "user_id"]

Answer = tuple[int, Any, dict[str, str]]
_USER = re.compile(r"^U[0-9a-f]{32}$")
_RETRY_KEY = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                        r"[0-9a-fA-F]{12}$")
_RETRYABLE = frozenset({"push", "multicast", "narrowcast"})  # endpoints taking X-Line-Retry-Key
_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (m, re.compile(p), name) for m, p, name in [
        ("POST", r"^/v2/bot/message/push$", "push"),
        ("POST", r"^/v2/bot/message/multicast$", "multicast"),
        ("POST", r"^/v2/bot/message/narrowcast$", "narrowcast"),
        ("GET", r"^/v2/bot/message/progress/narrowcast$", "narrowcast_progress"),
        ("GET", r"^/v2/bot/message/quota$", "quota"),
        ("GET", r"^/v2/bot/message/quota/consumption$", "quota_consumption"),
        ("POST", r"^/v2/bot/audienceGroup/upload$", "audience_upload"),
        ("POST", r"^/v2/bot/audienceGroup/upload/byFile$", "audience_upload_file"),
        ("POST", r"^/v2/bot/richmenu$", "rich_menu_create"),
        ("POST", r"^/v2/bot/user/(?P<user>[^/]+)/richmenu/(?P<menu>[^/]+)$", "rich_menu_link"),
        ("DELETE", r"^/v2/bot/user/(?P<user>[^/]+)/richmenu$", "rich_menu_unlink"),
        ("GET", r"^/v2/bot/user/(?P<user>[^/]+)/richmenu$", "rich_menu_of_user"),
        ("POST", r"^/v2/bot/richmenu/bulk/link$", "rich_menu_bulk_link"),
        ("POST", r"^/v2/bot/richmenu/bulk/unlink$", "rich_menu_bulk_unlink"),
        ("GET", r"^/v2/bot/insight/message/event/aggregation$", "unit_statistics"),
    ]
]
_INVALID_TOKEN = ("Authentication failed due to the following reason: invalid token. "
                  "Confirm that the access token in the authorization header is valid.")
_RATE_LIMITED = "The API rate limit has been exceeded. Try again later."
_MONTHLY_LIMIT = "You have reached your monthly limit."
_ACCEPTED = "The retry key is already accepted"


def user_id(n: int) -> str:
    """A LINE user id (``U`` and 32 hex digits), the ``n``-th of the fake's.

    >>> user_id(1)
    'U00000000000000000000000000000001'
    """
    return f"U{n:032x}"


@dataclass(frozen=True)
class Delivered:
    """One message object that reached one user."""

    message: dict[str, Any]
    via: str  # push, multicast or narrowcast
    request_id: str
    retry_key: str | None


@dataclass(frozen=True)
class RequestSeen:
    """One request the fake answered (for tests: what came, what went back)."""

    endpoint: str
    status: int
    retry_key: str | None
    request_id: str


@dataclass
class Narrowcast:
    """An accepted narrowcast: delivered when its progress is polled past ``waiting``."""

    request_id: str
    messages: list[dict[str, Any]]
    targets: list[str]
    retry_key: str | None
    accepted: str
    polls_left: int
    completed: str | None = None
    success: int = 0
    failure: int = 0


@dataclass
class _Channel:
    followers: set[str] = field(default_factory=set)
    blocked: set[str] = field(default_factory=set)
    audiences: dict[int, dict[str, Any]] = field(default_factory=dict)
    rich_menus: set[str] = field(default_factory=set)
    links: dict[str, str] = field(default_factory=dict)  # user → rich menu


class LinePlatform(UnitStatistics):
    """One LINE channel as the Messaging API shows it (see docs/line.md for what is served;
    per-unit statistics: :mod:`segmentry.testing.line.insight`)."""

    def __init__(
        self,
        *,
        token: str = "fake-channel-access-token",
        channel_secret: str = "fake-channel-secret",
        monthly_quota: int | None = 1000,
        rate_limits: Mapping[str, tuple[int, float]] = DEFAULT_RATE_LIMITS,
        retry_after: float | None = None,
        narrowcast_waiting_polls: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token, self.channel_secret = token, channel_secret
        self.monthly_quota = monthly_quota  # None: no limit (quota type "none")
        self.quota_used = 0
        self.rate_limits = RateLimits(rate_limits, clock=clock)
        # NOTE: LINE documents no Retry-After on 429; the fake sends one only when this is set
        self.retry_after = retry_after
        self.narrowcast_waiting_polls = narrowcast_waiting_polls
        self.channel = _Channel()
        self.delivered: dict[str, list[Delivered]] = {}
        self.requests: list[RequestSeen] = []
        self.narrowcasts: dict[str, Narrowcast] = {}
        self._accepted: dict[str, tuple[str, Answer]] = {}  # retry key → (request id, answer)
        self._failures: deque[tuple[str, str | None]] = deque()
        self._users = 0
        self._lock = threading.RLock()
        self._init_units()

    # ------------------------------------------------------------ test controls

    def add_user(self, user: str | None = None, *, blocked: bool = False) -> str:
        """Make ``user`` (or a new id) a friend of the channel; ``blocked``: one who blocked it."""
        with self._lock:
            if user is None:
                self._users += 1
                user = user_id(self._users)
            self.channel.followers.add(user)
            (self.channel.blocked.add if blocked else self.channel.blocked.discard)(user)
        return user

    def block(self, user: str) -> None:
        with self._lock:
            self.channel.blocked.add(user)

    def unblock(self, user: str) -> None:
        with self._lock:
            self.channel.blocked.discard(user)

    def add_rich_menu(self, rich_menu_id: str | None = None) -> str:
        menu = rich_menu_id or f"richmenu-{uuid.uuid4().hex}"
        with self._lock:
            self.channel.rich_menus.add(menu)
        return menu

    def rich_menu_of(self, user: str) -> str | None:
        return self.channel.links.get(user)

    def inject(self, kind: str, times: int = 1, *, after: int = 0,
               endpoint: str | None = None) -> None:
        """Fail the next ``times`` requests (to ``endpoint``, or any), after ``after`` good ones:
        ``500``/``502``/``503`` (nothing done), ``500_delivered`` (done, then answered 500, as
        when LINE accepted a send but the answer was lost), ``429``, ``drop`` (connection closed
        without an answer) or ``timeout`` (no answer for a while, then closed); ``drop`` and
        ``timeout`` are done by the server."""
        with self._lock:
            self._failures.extend([("", endpoint)] * after + [(kind, endpoint)] * times)

    def next_failure(self, endpoint: str) -> str | None:
        with self._lock:
            if self._failures and self._failures[0][1] in (None, endpoint):
                return self._failures.popleft()[0] or None
        return None

    def texts(self, user: str) -> list[str]:
        """The texts (a Flex message: its altText) delivered to ``user``, in order."""
        return [d.message.get("text", d.message.get("altText", "")) for d in
                self.delivered.get(user, [])]

    def count(self, user: str) -> int:
        return len(self.delivered.get(user, []))

    def statuses(self, endpoint: str) -> list[int]:
        return [r.status for r in self.requests if r.endpoint == endpoint]

    # ------------------------------------------------------------ requests

    def route(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        for route_method, pattern, name in _ROUTES:
            match = pattern.match(path)
            if match and route_method == method:
                return name, match.groupdict()
        return None

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: Any,
               query: Mapping[str, str] | None = None) -> Answer:
        """Answer one request (``body``: parsed JSON, a dict of form fields, or None)."""
        request_id = str(uuid.uuid4())
        found = self.route(method, path)
        if found is None:
            return 404, {"message": "Not found"}, {"x-line-request-id": request_id}
        endpoint, params = found
        status, answer, extra = self._answer(endpoint, params, _lower(headers), body,
                                             dict(query or {}), request_id)
        with self._lock:
            self.requests.append(RequestSeen(endpoint, status, _lower(headers).get(
                "x-line-retry-key"), request_id))
        return status, answer, {"x-line-request-id": request_id, **extra}

    def _answer(self, endpoint: str, params: dict[str, str], headers: dict[str, str],
                body: Any, query: dict[str, str], request_id: str) -> Answer:
        if headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"message": _INVALID_TOKEN}, {}
        if not self.rate_limits.take(endpoint):
            return self._rate_limited()
        failure = self.next_failure(endpoint)
        if failure in ("500", "502", "503"):
            return int(failure), {"message": "Internal server error"}, {}
        if failure == "429":
            return self._rate_limited()
        key = headers.get("x-line-retry-key")
        if key is not None:
            if endpoint not in _RETRYABLE or not _RETRY_KEY.match(key):
                return 400, {"message": "The value for the 'X-Line-Retry-Key' header is "
                             "invalid"}, {}
            with self._lock:
                accepted = self._accepted.get(key)
            if accepted is not None:
                return 409, {"message": _ACCEPTED, **_sent(accepted[1][1])}, \
                    {"x-line-accepted-request-id": accepted[0]}
        with self._lock:  # NOTE: one send at a time, so a retry key is taken exactly once
            answer = getattr(self, f"_{endpoint}")(body, params, query, request_id, key)
            if key is not None and 200 <= answer[0] < 300:
                self._accepted[key] = (request_id, answer)
        if failure == "500_delivered" and 200 <= answer[0] < 300:
            return 500, {"message": "Internal server error"}, {}
        return answer

    def _rate_limited(self) -> Answer:
        extra = {} if self.retry_after is None else {"Retry-After": f"{self.retry_after:g}"}
        return 429, {"message": _RATE_LIMITED}, extra

    # ------------------------------------------------------------ sending

    def _reachable(self, user: str) -> bool:
        return user in self.channel.followers and user not in self.channel.blocked

    def _over_quota(self, recipients: int) -> Answer | None:
        if self.monthly_quota is not None and self.quota_used + recipients > self.monthly_quota:
            return 429, {"message": _MONTHLY_LIMIT}, {}
        return None

    def _deliver(self, users: list[str], messages: list[dict[str, Any]], via: str,
                 request_id: str, key: str | None) -> int:
        reached = [u for u in users if self._reachable(u)]
        for user in reached:  # NOTE: LINE counts people reached, not message objects
            self.delivered.setdefault(user, []).extend(
                Delivered(dict(m), via, request_id, key) for m in messages)
        self.quota_used += len(reached)
        return len(reached)

    def _push(self, body: Any, params: dict[str, str], query: dict[str, str],
              request_id: str, key: str | None) -> Answer:
        if not isinstance(body, dict):
            return _unparsable()
        problems = message_problems(body.get("messages")) + unit_problems(body)
        if not isinstance(body.get("to"), str):
            problems.insert(0, {"message": "must be specified", "property": "to"})
        if problems:
            return 400, error_body(problems), {}
        to = body["to"]
        if to not in self.channel.followers:  # LINE: an id that does not exist
            return 400, {"message": "Failed to send messages"}, {}
        refused = self._over_quota(1 if self._reachable(to) else 0)
        if refused:
            return refused
        too_many = self._unit_refused(body)
        if too_many:
            return 400, {"message": too_many}, {}
        self._unit_sent(body, [to] if self._reachable(to) else [])
        self._deliver([to], body["messages"], "push", request_id, key)
        sent = [{"id": str(uuid.uuid4().int % 10**18), "quoteToken": uuid.uuid4().hex}
                for _ in body["messages"]]
        return 200, {"sentMessages": sent}, {}

    def _multicast(self, body: Any, params: dict[str, str], query: dict[str, str],
                   request_id: str, key: str | None) -> Answer:
        if not isinstance(body, dict):
            return _unparsable()
        problems = message_problems(body.get("messages")) + unit_problems(body)
        to = body.get("to")
        if not isinstance(to, list) or not 1 <= len(to) <= 500:
            problems.insert(0, {"message": "Size must be between 1 and 500", "property": "to"})
        else:
            problems[:0] = [{"message": "invalid user id", "property": f"to[{i}]"}
                            for i, u in enumerate(to) if not _USER.match(str(u))]
        if problems:
            return 400, error_body(problems), {}
        users = list(dict.fromkeys(to or []))  # a user named twice gets the message once
        refused = self._over_quota(sum(self._reachable(u) for u in users))
        if refused:
            return refused
        too_many = self._unit_refused(body)
        if too_many:
            return 400, {"message": too_many}, {}
        self._unit_sent(body, [u for u in users if self._reachable(u)])
        self._deliver(users, body["messages"], "multicast", request_id, key)
        return 200, {}, {}

    def _narrowcast(self, body: Any, params: dict[str, str], query: dict[str, str],
                    request_id: str, key: str | None) -> Answer:
        if not isinstance(body, dict):
            return _unparsable()
        problems = message_problems(body.get("messages"))
        recipient = body.get("recipient") or {}
        audience = self.channel.audiences.get(recipient.get("audienceGroupId", -1))
        if recipient.get("type") != "audience" or audience is None:
            problems.append({"message": "audience not found", "property": "recipient"})
        if problems:
            return 400, error_body(problems), {}
        targets = [u for u in audience["users"] if self._reachable(u)]  # type: ignore[index]
        limit = (body.get("limit") or {}).get("max")
        targets = targets[:limit] if isinstance(limit, int) else targets
        refused = self._over_quota(len(targets))  # LINE reserves the target reach first
        if refused:
            return refused
        self.narrowcasts[request_id] = Narrowcast(
            request_id, body["messages"], targets, key, _now_iso(),
            self.narrowcast_waiting_polls)
        return 202, {}, {}

    def _narrowcast_progress(self, body: Any, params: dict[str, str], query: dict[str, str],
                             request_id: str, key: str | None) -> Answer:
        cast = self.narrowcasts.get(query.get("requestId", ""))
        if cast is None:
            return 400, {"message": "requestId is invalid", "details": [
                {"message": "not found", "property": "requestId"}]}, {}
        if cast.polls_left > 0:
            cast.polls_left -= 1
            return 200, {"phase": "waiting", "acceptedTime": cast.accepted}, {}
        if cast.completed is None:
            cast.success = self._deliver(cast.targets, cast.messages, "narrowcast",
                                         cast.request_id, cast.retry_key)
            cast.failure = len(cast.targets) - cast.success
            cast.completed = _now_iso()
        return 200, {"phase": "succeeded", "successCount": cast.success,
                     "failureCount": cast.failure, "targetCount": len(cast.targets),
                     "acceptedTime": cast.accepted, "completedTime": cast.completed}, {}

    def _quota(self, body: Any, params: dict[str, str], query: dict[str, str],
               request_id: str, key: str | None) -> Answer:
        if self.monthly_quota is None:
            return 200, {"type": "none"}, {}
        return 200, {"type": "limited", "value": self.monthly_quota}, {}

    def _quota_consumption(self, body: Any, params: dict[str, str], query: dict[str, str],
                           request_id: str, key: str | None) -> Answer:
        return 200, {"totalUsage": self.quota_used}, {}

    # ------------------------------------------------------------ audiences

    def _audience_upload(self, body: Any, params: dict[str, str], query: dict[str, str],
                         request_id: str, key: str | None) -> Answer:
        if not isinstance(body, dict):
            return _unparsable()
        audiences = body.get("audiences") or []
        if not isinstance(audiences, list) or len(audiences) > 10_000:
            return 400, error_body([{"message": "Size must be between 0 and 10000",
                                     "property": "audiences"}]), {}
        return self._new_audience(body.get("description"),
                                  [str(a.get("id", "")) for a in audiences])

    def _audience_upload_file(self, body: Any, params: dict[str, str], query: dict[str, str],
                              request_id: str, key: str | None) -> Answer:
        if not isinstance(body, dict) or "file" not in body:
            return 400, error_body([{"message": "must be specified", "property": "file"}]), {}
        raw = body["file"]
        lines = (raw.decode() if isinstance(raw, bytes) else str(raw)).splitlines()
        return self._new_audience(body.get("description"), [s.strip() for s in lines
                                                            if s.strip()])

    def _new_audience(self, description: Any, users: list[str]) -> Answer:
        if not isinstance(description, str) or not 1 <= utf16_length(description) <= 120:
            return 400, error_body([{"message": "Length must be between 1 and 120",
                                     "property": "description"}]), {}
        number = len(self.channel.audiences) + 1
        created = int(time.time())
        self.channel.audiences[number] = {"description": description, "users": users}
        return 202, {"audienceGroupId": number, "createRoute": "MESSAGING_API",
                     "type": "UPLOAD", "description": description, "created": created,
                     "permission": "READ_WRITE", "expireTimestamp": created + 180 * 86400,
                     "isIfaAudience": False}, {}

    def audience(self, audience_group_id: int) -> list[str]:
        """The user ids uploaded to an audience."""
        return list(self.channel.audiences[audience_group_id]["users"])

    # ------------------------------------------------------------ rich menus

    def _rich_menu_create(self, body: Any, params: dict[str, str], query: dict[str, str],
                          request_id: str, key: str | None) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("size"), dict):
            return 400, error_body([{"message": "must be specified", "property": "size"}]), {}
        return 200, {"richMenuId": self.add_rich_menu()}, {}

    def _menu_problem(self, menu: Any, users: list[Any]) -> Answer | None:
        if menu not in self.channel.rich_menus:
            return 400, {"message": "richmenu not found"}, {}  # NOTE: wording assumed
        if not 1 <= len(users) <= 500:
            return 400, error_body([{"message": "Size must be between 1 and 500",
                                     "property": "userIds"}]), {}
        return None

    def _rich_menu_link(self, body: Any, params: dict[str, str], query: dict[str, str],
                        request_id: str, key: str | None) -> Answer:
        user, menu = params["user"], params["menu"]
        problem = self._menu_problem(menu, [user])
        if problem:
            return problem
        if user not in self.channel.followers:
            return 400, {"message": "The user ID is invalid"}, {}  # NOTE: wording assumed
        self.channel.links[user] = menu
        return 200, {}, {}

    def _rich_menu_unlink(self, body: Any, params: dict[str, str], query: dict[str, str],
                          request_id: str, key: str | None) -> Answer:
        self.channel.links.pop(params["user"], None)
        return 200, {}, {}

    def _rich_menu_of_user(self, body: Any, params: dict[str, str], query: dict[str, str],
                           request_id: str, key: str | None) -> Answer:
        menu = self.channel.links.get(params["user"])
        if menu is None:
            return 404, {"message": "the user has no richmenu"}, {}
        return 200, {"richMenuId": menu}, {}

    def _rich_menu_bulk_link(self, body: Any, params: dict[str, str], query: dict[str, str],
                             request_id: str, key: str | None) -> Answer:
        if not isinstance(body, dict):
            return _unparsable()
        users = body.get("userIds") or []
        problem = self._menu_problem(body.get("richMenuId"), users)
        if problem:
            return problem
        for user in users:  # NOTE: LINE links in the background; the fake at once
            if user in self.channel.followers:
                self.channel.links[user] = body["richMenuId"]
        return 202, {}, {}

    def _rich_menu_bulk_unlink(self, body: Any, params: dict[str, str], query: dict[str, str],
                               request_id: str, key: str | None) -> Answer:
        if not isinstance(body, dict):
            return _unparsable()
        users = body.get("userIds") or []
        if not 1 <= len(users) <= 500:
            return 400, error_body([{"message": "Size must be between 1 and 500",
                                     "property": "userIds"}]), {}
        for user in users:
            self.channel.links.pop(user, None)
        return 202, {}, {}


def _sent(answer: Any) -> dict[str, Any]:
    return {"sentMessages": answer["sentMessages"]} if isinstance(answer, dict) and \
        "sentMessages" in answer else {}


def _unparsable() -> Answer:
    return 400, {"message": "The request body could not be parsed as JSON"}, {}


def _lower(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
