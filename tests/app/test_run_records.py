"""The run-record repository (segmentry.store.runs): start, stages, finish, read back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from segmentry.core.errors import RunError, error_record
from segmentry.store import runs, schema
from segmentry.store.connection import open_state_store

DAY = dt.date(2026, 12, 6)


def test_a_run_is_recorded_with_its_stages_and_read_back(tmp_path: Path) -> None:
    engine = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert runs.last_succeeded_day(engine) is None
        first = runs.start(engine, DAY, "box")
        with engine.begin() as conn:
            runs.finish(conn, first, "succeeded", [
                runs.StageRecord("ingest", "succeeded", 1.5, "3 rows"),
                runs.StageRecord("segments", "succeeded", 2.0),
            ])
        # a stage after the run's transaction (the pipeline's activate)
        runs.record_stage(engine, first, 2, runs.StageRecord("activate", "failed", 0.5, "401"))
        second = runs.start(engine, DAY + dt.timedelta(days=1), "box")
        failure = RunError("The run for {day} failed: {detail}",
                           params={"day": "2026-12-07", "detail": "disk full"})
        with engine.begin() as conn:
            runs.finish(conn, second, "failed", [runs.StageRecord("ingest", "failed", 0.25)],
                        error="OSError: disk full", failure=error_record(failure))
        listed = runs.recent(engine, 10)
        assert [(r["id"], r["day"], r["status"], r["holder"]) for r in listed] == [
            (second, DAY + dt.timedelta(days=1), "failed", "box"),
            (first, DAY, "succeeded", "box"),
        ]
        assert [(s["position"], s["stage"], s["status"], s["seconds"], s["detail"])
                for s in listed[1]["stages"]] == [
            (0, "ingest", "succeeded", 1.5, "3 rows"),
            (1, "segments", "succeeded", 2.0, ""),
            (2, "activate", "failed", 0.5, "401"),
        ]
        assert (listed[0]["error"], listed[0]["error_code"]) == ("OSError: disk full",
                                                                 "run_failed")
        assert [s["stage"] for s in listed[0]["stages"]] == ["ingest"]
        assert runs.last_succeeded_day(engine) == DAY  # the failed day does not count
    finally:
        engine.dispose()


def test_a_run_left_running_is_marked_interrupted_by_the_next(tmp_path: Path) -> None:
    engine = open_state_store(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        died = runs.start(engine, DAY, "box")
        runs.start(engine, DAY, "box")
        with engine.connect() as conn:
            query = sa.select(schema.runs).where(schema.runs.c.id == died)
            row = conn.execute(query).mappings().one()
        assert (row["status"], row["error_code"]) == ("failed", "interrupted")
    finally:
        engine.dispose()
