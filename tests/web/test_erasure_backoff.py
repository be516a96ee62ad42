"""An erasure the web app cannot finish now is tried again after a growing pause, not at every
tick of the webhook queue (each try rewrites the warehouse file)."""

from __future__ import annotations

from pathlib import Path

import jinja2

from segmentry.app.erasure import erase_customer, waiting_erasures
from segmentry.app.workspace import Workspace
from segmentry.core.lock import workspace_lock
from segmentry.web.background import Backoff, _due, finish_erasures_of
from segmentry.web.deps import WebApp


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_erasure_blocked_by_a_command_waits_longer_each_time(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "shop")
    worker = ws.sibling()
    try:
        erase_customer(ws, "c-1", ["hanako@example.jp"])
        web = WebApp(workspace=ws, templates=jinja2.Environment(autoescape=True))
        clock = Clock()
        backoff = Backoff(first=2, longest=8, clock=clock)
        hook = finish_erasures_of(web, backoff)

        with workspace_lock(ws.folder, "segmentry import"):  # a command holds the workspace
            assert _due(web, backoff) is True
            hook(worker)
            assert backoff.wait == 2.0
            assert _due(web, backoff) is False  # not before 2 s have passed
            clock.now += 2
            assert _due(web, backoff) is True
            hook(worker)
            clock.now += 2
            assert (backoff.wait, _due(web, backoff)) == (4.0, False)
            clock.now += 2
            hook(worker)
            hook(worker)  # not ready: no attempt, the pause does not grow
            clock.now += 8
            hook(worker)
            assert backoff.wait == 8.0  # at most `longest`
            assert waiting_erasures(ws.state) == 1

        clock.now += 8
        hook(worker)  # the command is gone: finished, and the pause is reset
        assert (waiting_erasures(ws.state), backoff.wait) == (0, 0.0)
        assert _due(web, backoff) is False
    finally:
        worker.close()
        ws.close()
