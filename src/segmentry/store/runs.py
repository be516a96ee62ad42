"""Run records (``runs`` and ``run_stages``): the repository the daily pipeline writes and the
CLI, web app and workspace read.

A run is recorded ``running`` when it starts (a leftover ``running`` row is from a process that
died: it is marked failed, ``interrupted``), then finished ``succeeded`` or ``failed`` with its
stages; a failure keeps its error to show in the reader's language
(:func:`segmentry.core.errors.error_record`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from segmentry.core.clock import utcnow
from segmentry.core.errors import ERROR_FIELDS, RunError, error_record
from segmentry.store.schema import run_stages, runs

__all__ = ["Stage", "StageRecord", "finish", "last_finished_id", "last_succeeded_day", "recent",
           "record_stage", "start"]


class Stage(Protocol):
    """What a stage record needs (the pipeline's own stage reports have it)."""

    @property
    def stage(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def seconds(self) -> float: ...
    @property
    def detail(self) -> str: ...


@dataclass(frozen=True)
class StageRecord:
    """One stage of a run as stored."""

    stage: str
    status: str
    seconds: float
    detail: str = ""


def start(engine: sa.Engine, day: dt.date, holder: str) -> int:
    """Record a run for ``day`` as running (marking a leftover running one interrupted);
    returns its id."""
    interrupted = RunError("interrupted (process ended during the run)", code="interrupted")
    with engine.begin() as conn:
        conn.execute(
            runs.update().where(runs.c.status == "running")
            .values(status="failed", error=interrupted.message, **error_record(interrupted))
        )
        inserted = conn.execute(
            runs.insert().values(day=day, started_at=utcnow(), status="running", holder=holder)
        ).inserted_primary_key
    assert inserted is not None
    return int(inserted[0])


def record_stage(engine: sa.Engine, run_id: int, position: int, stage: Stage) -> None:
    """Add one stage to a run recorded before the stage finished."""
    with engine.begin() as conn:
        conn.execute(run_stages.insert().values(run_id=run_id, position=position,
                                                **_stage_values(stage)))


def finish(
    conn: sa.Connection,
    run_id: int,
    status: str,
    stages: Iterable[Stage],
    error: str | None = None,
    failure: Mapping[str, str | None] | None = None,
) -> None:
    """Write a run's outcome and its stages, in the caller's transaction (a successful run's
    pointers switch in the same one); ``failure`` is :func:`~segmentry.core.errors.error_record`
    of its error."""
    conn.execute(
        runs.update().where(runs.c.id == run_id)
        .values(finished_at=utcnow(), status=status, error=error,
                **(failure or dict.fromkeys(ERROR_FIELDS)))
    )
    rows = [{"run_id": run_id, "position": i, **_stage_values(s)} for i, s in enumerate(stages)]
    if rows:
        conn.execute(run_stages.insert(), rows)


def _stage_values(stage: Stage) -> dict[str, Any]:
    return {"stage": stage.stage, "status": stage.status, "seconds": stage.seconds,
            "detail": stage.detail}


def recent(engine: sa.Engine, limit: int) -> list[dict[str, Any]]:
    """The latest runs, newest first, each with its ``stages`` list."""
    with engine.connect() as conn:
        found = [dict(r) for r in conn.execute(
            sa.select(runs).order_by(runs.c.id.desc()).limit(limit)).mappings()]
        for run in found:
            run["stages"] = [dict(s) for s in conn.execute(
                sa.select(run_stages).where(run_stages.c.run_id == run["id"])
                .order_by(run_stages.c.position)).mappings()]
    return found


def last_succeeded_day(engine: sa.Engine) -> dt.date | None:
    """The latest day a run succeeded for (None before the first)."""
    with engine.connect() as conn:
        day = conn.execute(
            sa.select(sa.func.max(runs.c.day)).where(runs.c.status == "succeeded")
        ).scalar()
    return day


def last_finished_id(engine: sa.Engine) -> int | None:
    """The id of the newest run that finished (succeeded or failed); None before the first."""
    with engine.connect() as conn:
        run = conn.execute(
            sa.select(sa.func.max(runs.c.id)).where(runs.c.status != "running")
        ).scalar()
    return None if run is None else int(run)
