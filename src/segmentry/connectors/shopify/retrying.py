"""Retries in one place: an httpx transport that retries what Shopify (or the network) asks us
to try again, and the back-off both it and the client's GraphQL-level retries wait by.

A request is tried again on a connection problem (refused, timed out, dropped), on HTTP 429
and on 5xx, after ``backoff × 2^n`` seconds (plus up to 10 % jitter) or as long as
``Retry-After`` says; after ``max_retries`` retries the caller gets
:class:`~segmentry.core.errors.ShopifyError` ``unavailable`` naming the last problem.

    >>> import httpx
    >>> answers = iter([httpx.Response(503), httpx.Response(200, json={"ok": True})])
    >>> waits = []
    >>> policy = Backoff("shop.example", sleep=waits.append, jitter=False)
    >>> inner = httpx.MockTransport(lambda request: next(answers))
    >>> with httpx.Client(transport=Retrying(inner, policy)) as client:
    ...     client.get("https://shop.example/").json()
    {'ok': True}
    >>> waits, policy.retries
    ([0.5], 1)
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import httpx

from segmentry.core.errors import ShopifyError, Text

__all__ = ["Backoff", "Retrying", "retry_after"]


class Backoff:
    """How long to wait before the next try, and when to give up."""

    def __init__(self, shop: str, *, max_retries: int = 6, backoff: float = 0.5,
                 sleep: Callable[[float], None] = time.sleep, jitter: bool = True) -> None:
        self.shop, self.max_retries, self.backoff = shop, max_retries, backoff
        self.sleep, self.jitter = sleep, jitter
        self.retries = 0  # retries waited for, over the client's life
        self.waited = 0.0  # seconds slept, over the client's life

    def wait(self, failures: int, why: str | Text, retry_after: float | None = None) -> None:
        """Wait before try number ``failures + 2``; raise ``unavailable`` when none is left."""
        if failures >= self.max_retries:
            raise ShopifyError(
                "Shopify ({shop}) is not answering: {why}, {attempts} attempts.",
                code="unavailable",
                hint="Shopify or the network is having trouble; run the sync again later — "
                "it resumes where it stopped.",
                params={"shop": self.shop, "why": why, "attempts": failures + 1},
            )
        self.retries += 1
        delay = retry_after if retry_after is not None else self.backoff * 2**failures
        if retry_after is None and self.jitter:
            delay *= 1 + random.random() * 0.1
        self.pause(delay)

    def pause(self, seconds: float) -> None:
        """Sleep (pacing and back-off alike), counted."""
        self.waited += seconds
        self.sleep(seconds)


class Retrying(httpx.BaseTransport):
    """An httpx transport that retries through ``policy`` (see the module docstring)."""

    def __init__(self, inner: httpx.BaseTransport, policy: Backoff) -> None:
        self.inner, self.policy = inner, policy

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # NOTE: a body sent again must be whole in memory (ours are small)
        failures = 0
        while True:
            try:
                response = self.inner.handle_request(request)
            except httpx.TransportError as e:  # refused, timed out, dropped mid-answer
                why = Text("connection problem ({problem})",
                           {"problem": f"{type(e).__name__}: {e}"})
                self.policy.wait(failures, why)
            else:
                if response.status_code != 429 and response.status_code < 500:
                    return response
                response.close()
                self.policy.wait(failures, f"HTTP {response.status_code}", retry_after(response))
            failures += 1

    def close(self) -> None:
        self.inner.close()


def retry_after(response: httpx.Response) -> float | None:
    """The seconds a ``Retry-After`` header asks for, if it gives a number.

    >>> retry_after(httpx.Response(429, headers={"Retry-After": "2.0"}))
    2.0
    >>> retry_after(httpx.Response(429)) is None
    True
    """
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None
