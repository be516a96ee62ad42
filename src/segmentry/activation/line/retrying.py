"""Retries and error mapping of LINE calls in one place: every SDK call the client makes goes
through :meth:`Calls.call`, which sorts LINE's answers out.

- 2xx: done. 409 on a send: LINE accepted that retry key before (the message went out once; the
  answer carries ``x-line-accepted-request-id``), so it is done too, marked a duplicate.
- 429 (the rate limit), 5xx and connection problems (refused, timed out, dropped): tried again
  after ``backoff × 2^n`` seconds (capped, with up to 10 % jitter) or as long as ``Retry-After``
  says; after ``max_retries`` retries :class:`LineError` ``line_unavailable``. A send is tried
  again with the same ``X-Line-Retry-Key``, so LINE never delivers it twice.
- 401: :class:`LineError` ``line_invalid_token``, naming the channel and the token's last
  characters: every later call would fail alike, so the send stops.
- 429 "You have reached your monthly limit.": :class:`LineError` ``line_quota_exhausted``
  (waiting a few seconds does not help).
- Any other 4xx: an :class:`Outcome` that failed, with LINE's ``message`` and ``details``, for
  the caller to record against the recipients.

Before each try, :class:`Pacing` waits until the endpoint's published rate limit allows one
more request, so a large send stays under the limit instead of only reacting to 429.

LINE's error body is ``{"message": …, "details": [{"message": …, "property": …}]}``
(https://developers.line.biz/en/reference/messaging-api/#error-responses).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import urllib3
from linebot.v3 import audience, insight
from linebot.v3.messaging import ApiException

from segmentry.core.errors import LineError, Text

__all__ = ["ENDPOINTS", "MONTHLY_LIMIT", "RATE_LIMITS", "Backoff", "Calls", "Outcome", "Pacing"]

MONTHLY_LIMIT = "You have reached your monthly limit."

# LINE's rate limits per channel and endpoint, as we read its table
# (https://developers.line.biz/en/reference/messaging-api/#rate-limits; docs/line.md):
# endpoint → (requests, per seconds); "*" for every endpoint not named. The fake LINE
# platform (segmentry.testing.line) enforces the same by default.
RATE_LIMITS: Mapping[str, tuple[int, float]] = {
    "narrowcast": (60, 3600.0),
    "audience_upload": (60, 60.0),
    "audience_upload_file": (60, 60.0),
    "multicast": (200, 1.0),
    "rich_menu_create": (100, 3600.0),
    "*": (2000, 1.0),
}

# The client's names of its calls → LINE's endpoints (as the rate limits name them).
ENDPOINTS: Mapping[str, str] = {
    "push": "push",
    "multicast": "multicast",
    "narrowcast": "narrowcast",
    "narrowcast progress": "narrowcast_progress",
    "quota": "quota",
    "quota consumption": "quota_consumption",
    "audience upload": "audience_upload",
    "audience upload by file": "audience_upload_file",
    "rich menu link": "rich_menu_link",
    "rich menu unlink": "rich_menu_unlink",
    "rich menu bulk link": "rich_menu_bulk_link",
    "rich menu bulk unlink": "rich_menu_bulk_unlink",
    "unit statistics": "unit_statistics",
}
# NOTE: each part of the SDK raises its own ApiException: the audience and insight ones are
# not messaging's (an audience upload's 429 escaped the mapping until all three were named).
_API_ERRORS = (ApiException, audience.ApiException, insight.ApiException)


class Pacing:
    """Requests per endpoint kept under its rate limit before LINE has to say 429.

    A token bucket per endpoint holding ``requests`` tokens, where each token spent comes back
    exactly ``period`` seconds later (a sliding window): a burst of ``requests`` goes at once,
    and no window of ``period`` seconds ever holds more than ``requests`` calls, which is how
    LINE (and the fake) count. A bucket refilled at a steady ``requests / period`` would let
    nearly twice the limit through in one window after a burst. ``headroom`` (a share of the
    period) is added to each wait, for the time a request takes to reach LINE.

    >>> now = [0.0]
    >>> pacing = Pacing({"push": (2, 1.0)}, clock=lambda: now[0],
    ...                 sleep=lambda s: now.__setitem__(0, now[0] + s), headroom=0)
    >>> [pacing.wait("push") for _ in range(5)]
    [0.0, 0.0, 1.0, 0.0, 1.0]
    >>> now[0]
    2.0
    """

    def __init__(self, limits: Mapping[str, tuple[int, float]] = RATE_LIMITS, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, headroom: float = 0.01) -> None:
        self.limits = {**RATE_LIMITS, **limits}
        self.clock, self.sleep, self.headroom = clock, sleep, headroom
        self.waited = 0.0  # seconds slept, over the client's life
        self._spent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, endpoint: str) -> float:
        """Take a token for ``endpoint``, sleeping until one is back; the seconds slept."""
        allowed, period = self.limits.get(endpoint, self.limits["*"])
        slept = 0.0
        while True:
            with self._lock:
                now = self.clock()
                spent = self._spent.setdefault(endpoint, deque())
                while spent and spent[0] <= now - period * (1 + self.headroom):
                    spent.popleft()
                if len(spent) < allowed:
                    spent.append(now)
                    self.waited += slept
                    return slept
                delay = spent[0] + period * (1 + self.headroom) - now
            self.sleep(delay)
            slept += delay


@dataclass(frozen=True)
class Outcome:
    """What came of one call (after its retries).

    ``ok``: LINE accepted it (now, or earlier under the same retry key: ``duplicate``);
    otherwise ``reason`` is LINE's message and ``details`` its ``property: message`` lines.
    """

    ok: bool
    http_status: int
    request_id: str | None = None
    retry_key: str | None = None
    duplicate: bool = False
    accepted_request_id: str | None = None
    reason: str | None = None
    details: tuple[str, ...] = ()
    attempts: int = 1
    data: Any = None  # the SDK's answer object, when there is one


@dataclass
class Backoff:
    """How long to wait before a call is tried again, and when to give up."""

    max_retries: int = 6
    backoff: float = 1.0
    max_wait: float = 60.0
    jitter: bool = True
    sleep: Callable[[float], None] = time.sleep
    timeout: tuple[float, float] = (5.0, 30.0)  # (connect, read) seconds of each try
    retries: int = 0  # retries waited for, over the client's life
    waited: float = 0.0  # seconds slept, over the client's life

    def delay(self, failures: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        delay = min(self.max_wait, self.backoff * 2**failures)
        return delay * (1 + random.random() * 0.1) if self.jitter else delay


class Calls:
    """Runs SDK calls for one channel under a :class:`Backoff` (see the module docstring)."""

    def __init__(self, channel: str, token: str, backoff: Backoff,
                 pacing: Pacing | None = None) -> None:
        self.channel, self.token_tail, self.backoff = channel, token[-4:], backoff
        self.pacing = pacing or Pacing()

    def call(self, what: str, call: Callable[[], Any], *, retry_key: str | None = None) -> Outcome:
        """Run ``call`` (an SDK ``…_with_http_info`` call) until LINE gives an answer to keep."""
        failures = 0
        endpoint = ENDPOINTS.get(what, what.replace(" ", "_"))
        while True:
            self.pacing.wait(endpoint)
            try:
                response = call()
            except _API_ERRORS as e:
                status, headers = int(e.status or 0), e.headers or {}
                body = _error_body(e.body)
                if status == 401:
                    raise self._bad_token(what, body) from e
                if status == 429 and body.get("message") == MONTHLY_LIMIT:
                    raise LineError(
                        "LINE refused to send on {channel}: the monthly message quota is used "
                        "up. Nothing more was sent.", code="line_quota_exhausted",
                        params={"channel": self.channel}) from e
                if status == 0 or status == 429 or status >= 500:
                    why = Text("HTTP {status} ({message})", {
                        "status": status, "message": body.get("message") or e.reason or ""})
                    self._wait(what, failures, why, _retry_after(headers))
                    failures += 1
                    continue
                return self._refused(status, body, headers, retry_key, failures + 1)
            except urllib3.exceptions.HTTPError as e:  # refused, timed out, dropped mid-answer
                why = Text("connection problem ({problem})",
                           {"problem": f"{type(e).__name__}: {e}"})
                self._wait(what, failures, why, None)
                failures += 1
                continue
            headers = response.headers or {}
            return Outcome(True, int(response.status_code), _header(headers, "x-line-request-id"),
                           retry_key, attempts=failures + 1, data=response.data)

    def _wait(self, what: str, failures: int, why: Text, retry_after: float | None) -> None:
        if failures >= self.backoff.max_retries:
            raise LineError(
                "LINE ({channel}) is not answering the {what} call: {why}, {attempts} attempts.",
                code="line_unavailable",
                hint="LINE or the network is having trouble. Nothing was sent twice: send "
                "again later and it goes on where it stopped.",
                params={"channel": self.channel, "what": what, "why": why,
                        "attempts": failures + 1})
        delay = self.backoff.delay(failures, retry_after)
        self.backoff.retries += 1
        self.backoff.waited += delay
        self.backoff.sleep(delay)

    def _bad_token(self, what: str, body: Mapping[str, Any]) -> LineError:
        return LineError(
            "LINE did not accept the channel access token of {channel} (ending in "
            "{tail}) on the {what} call: {reason} The send was stopped; nothing more was sent.",
            code="line_invalid_token",
            hint="Issue a new channel access token in the LINE Developers Console and enter it "
            "in the channel's settings.",
            params={"channel": self.channel, "tail": self.token_tail, "what": what,
                    "reason": body.get("message") or "HTTP 401."})

    def _refused(self, status: int, body: Mapping[str, Any], headers: Any,
                 retry_key: str | None, attempts: int) -> Outcome:
        request_id = _header(headers, "x-line-request-id")
        if status == 409 and retry_key is not None:
            return Outcome(True, status, request_id, retry_key, duplicate=True,
                           accepted_request_id=_header(headers, "x-line-accepted-request-id"),
                           reason=body.get("message"), attempts=attempts)
        details = tuple(f"{d.get('property', '')}: {d.get('message', '')}".strip(": ")
                        for d in body.get("details") or [] if isinstance(d, Mapping))
        return Outcome(False, status, request_id, retry_key,
                       reason=body.get("message") or f"HTTP {status}", details=details,
                       attempts=attempts)


def _error_body(raw: Any) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except (ValueError, TypeError):
        return {"message": str(raw)[:500]}
    return body if isinstance(body, dict) else {}


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is None:  # a plain dict: look the name up case-blind
        value = next((v for k, v in dict(headers).items() if k.lower() == name), None)
    return None if value is None else str(value)


def _retry_after(headers: Any) -> float | None:
    """The seconds a ``Retry-After`` header asks for, if it gives a number."""
    try:
        return float(_header(headers, "retry-after") or "")
    except ValueError:
        return None
