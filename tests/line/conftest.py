"""A fake LINE channel on loopback, and clients of the official SDK pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from segmentry.activation.line import Backoff, LineChannel, LineClient
from segmentry.testing.line import FakeLine


class Clock:
    """A clock the fake's rate limits read and the client's back-off sleeps advance."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def start_line(clock: Clock) -> Iterator[Callable[..., FakeLine]]:
    started: list[FakeLine] = []

    def start(**options: Any) -> FakeLine:
        options.setdefault("clock", clock)
        line = FakeLine(timeout_seconds=0.3, **options).start()
        started.append(line)
        return line

    yield start
    for line in started:
        line.stop()


@pytest.fixture
def line(start_line: Callable[..., FakeLine]) -> FakeLine:
    return start_line()


@pytest.fixture
def connect(clock: Clock) -> Iterator[Callable[..., LineClient]]:
    clients: list[LineClient] = []

    def connect_to(line: FakeLine, *, token: str | None = None, **backoff: Any) -> LineClient:
        backoff.setdefault("jitter", False)
        backoff.setdefault("timeout", (2.0, 1.0))
        client = LineClient(
            LineChannel(token if token is not None else line.token, line.channel_secret,
                        name="Shop LINE", host=line.url),
            backoff=Backoff(sleep=clock.sleep, **backoff))
        clients.append(client)
        return client

    yield connect_to
    for client in clients:
        client.close()


@pytest.fixture
def client(line: FakeLine, connect: Callable[..., LineClient]) -> LineClient:
    return connect(line)


def text(body: str) -> dict[str, str]:
    return {"type": "text", "text": body}
