"""Pacing under the rate limits before LINE says 429: against the fake with a small multicast
limit and its clock, a paced client is never refused and sends at the limit; an unpaced one is
refused and has to back off."""

from __future__ import annotations

from collections.abc import Callable

from segmentry.activation.line import Backoff, LineChannel, LineClient, Pacing, retry_key
from segmentry.testing.line import FakeLine

from .conftest import Clock, text

LIMIT = {"multicast": (5, 1.0)}


def _multicasts(client: LineClient, users: list[str], n: int) -> None:
    for i in range(n):
        assert client.multicast(users, [text(f"#{i}")], retry_key=retry_key("pace", i)).ok


def test_a_paced_client_stays_under_the_limit(
    start_line: Callable[..., FakeLine], clock: Clock
) -> None:
    line = start_line(rate_limits=LIMIT)
    users = [line.add_user() for _ in range(3)]
    pacing = Pacing(LIMIT, clock=clock, sleep=clock.sleep, headroom=0)
    with LineClient(LineChannel(line.token, host=line.url), pacing=pacing,
                    backoff=Backoff(sleep=clock.sleep, jitter=False)) as client:
        _multicasts(client, users, 23)
    assert line.statuses("multicast") == [200] * 23  # never refused
    # 5 at 0 s, 1 s, 2 s and 3 s, 3 at 4 s: the limit exactly, no waiting beyond it.
    assert clock.now == 4.0 and pacing.waited == 4.0
    assert clock.slept == [1.0] * 4  # all of it the pacing's, none a back-off
    assert [line.count(u) for u in users] == [23] * 3


def test_an_unpaced_client_is_refused_and_backs_off(
    start_line: Callable[..., FakeLine], clock: Clock
) -> None:
    line = start_line(rate_limits=LIMIT)
    users = [line.add_user() for _ in range(3)]
    with LineClient(LineChannel(line.token, host=line.url), pacing=Pacing(),  # 200/s
                    backoff=Backoff(sleep=clock.sleep, jitter=False, backoff=1.0)) as client:
        _multicasts(client, users, 6)
    statuses = line.statuses("multicast")
    assert statuses.count(429) >= 1 and statuses.count(200) == 6
    assert [line.count(u) for u in users] == [6] * 3


def test_each_endpoint_has_its_own_bucket() -> None:
    now = [0.0]
    pacing = Pacing({"push": (1, 1.0), "multicast": (1, 1.0)}, clock=lambda: now[0],
                    sleep=lambda s: now.__setitem__(0, now[0] + s), headroom=0)
    assert [pacing.wait("push"), pacing.wait("multicast"), pacing.wait("quota")] == [0, 0, 0]
    assert pacing.wait("push") == 1.0 and now[0] == 1.0
