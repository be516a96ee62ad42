"""``segmentry bench``: wall time and peak memory of every stage on a generated store.

Stages (targets from the foundation issue, on a 2-core machine with N = 1,000,000):
generate → Parquet (not a target), import from Parquet (< 60 s), facts + daily run of 50
segments (< 20 s), full 365-day history of one new segment (< 60 s), peak RSS (< 4 GiB), and
our compiled segment queries vs the same segments written by hand in DuckDB SQL (≤ 1.5×).

Peak RSS per stage is sampled every 20 ms by a background thread (psutil), so it includes
DuckDB's native memory.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import gc
import multiprocessing
import shutil
import threading
import time
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import psutil
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table

from segmentry.analytics.evaluation import Snapshot, members_on, membership_history
from segmentry.analytics.facts import build_facts
from segmentry.analytics.membership import stretches, write_history
from segmentry.analytics.metrics import daily_metrics
from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store, write_parquet
from segmentry.core import config
from segmentry.core.clock import utcnow
from segmentry.core.config import SourceSettings
from segmentry.ledger.store import import_parquet_folder
from segmentry.store import schema

__all__ = ["BENCH_QUERIES", "HAND_WRITTEN_SQL", "Figure", "run_benchmark", "split_last_day"]

# The 12 starter queries plus variants: 50 segments of the kinds shops define.
_VARIANTS = [
    *(f"number_of_orders >= {k}" for k in range(2, 10)),
    *(f"amount_spent >= {k * 5000}" for k in range(1, 9)),
    *(f"last_order_date < -{d}d AND number_of_orders >= 2" for d in (60, 90, 120, 270, 365)),
    *(f"first_order_date > -{d}d" for d in (7, 14, 60, 90, 180)),
    *(f"products_purchased(tag: '{t}') = true" for t in ("serum", "new", "bestseller", "refill")),
    *(f"first_order_channel = '{c}'" for c in ("google", "line", "email", "direct", "affiliate")),
    "customer_tags CONTAINS 'line' AND last_order_date < -90d",
    "orders_placed MATCHES (discount_code STARTS WITH 'WELCOME')",
    "days_to_second_order <= 30",
]


def _bench_queries() -> list[str]:

    return [t.query for t in TEMPLATES.values()] + _VARIANTS


BENCH_QUERIES = _bench_queries()

# Hand-written DuckDB SQL for some starter templates, as a reference for the compiled queries.
# $day is the evaluation day. Each returns the member customer ids.
_VALID = (
    "FROM order_facts WHERE processed_on <= $day "
    "AND (cancelled_on IS NULL OR cancelled_on > $day)"
)
HAND_WRITTEN_SQL: dict[str, str] = {
    "number_of_orders = 1": f"SELECT customer_id {_VALID} GROUP BY 1 HAVING count(*) = 1",
    "number_of_orders >= 2": f"SELECT customer_id {_VALID} GROUP BY 1 HAVING count(*) >= 2",
    "number_of_orders >= 5": f"SELECT customer_id {_VALID} GROUP BY 1 HAVING count(*) >= 5",
    "number_of_orders >= 2 AND last_order_date < -180d": (
        f"SELECT customer_id {_VALID} GROUP BY 1 "
        "HAVING count(*) >= 2 AND max(processed_on) < $day - INTERVAL 180 DAY"
    ),
    "average_order_value >= 8000": (
        f"SELECT customer_id {_VALID} GROUP BY 1 HAVING sum(amount) / count(*) >= 8000"
    ),
    "first_order_channel = 'instagram'": (
        f"SELECT customer_id {_VALID} AND seq = 1 AND channel = 'instagram'"
    ),
}


@dataclass
class _Meter:
    """Samples this process's RSS in the background; ``peak`` since the last ``reset``."""

    peak: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._process = psutil.Process()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def reset(self) -> None:
        self.peak = self._process.memory_info().rss

    def stop(self) -> None:
        self._stop.set()


@dataclass(frozen=True)
class Figure:
    """One measured stage: wall and CPU seconds (CPU is steadier on a shared machine)."""

    stage: str
    seconds: float
    cpu_seconds: float
    peak_rss: int
    note: str = ""


@dataclass
class _Results:
    out: Console
    rows: list[Figure] = field(default_factory=list)
    meter: _Meter = field(default_factory=_Meter)

    @contextlib.contextmanager
    def stage(self, name: str, note: str = "") -> Iterator[dict[str, str]]:
        _release_freed_memory()
        self.meter.reset()
        process = psutil.Process()
        cpu, started = _cpu(process), time.perf_counter()
        extra = {"note": note}
        yield extra
        figure = Figure(
            name, time.perf_counter() - started, _cpu(process) - cpu, self.meter.peak,
            extra["note"],
        )
        self.add(figure)

    def add(self, figure: Figure) -> None:
        self.rows.append(figure)
        self.out.print(
            f"  {figure.stage}: {figure.seconds:.2f} s wall, {figure.cpu_seconds:.2f} s CPU, "
            f"peak RSS {figure.peak_rss / 2**30:.2f} GiB  {figure.note}",
            highlight=False,
        )


def _release_freed_memory() -> None:
    """Hand memory freed by earlier stages back to the OS, so each stage's peak is its own.

    NOTE: glibc keeps freed arenas (Arrow buffers, numpy) mapped; without this a stage after
    the import would be charged the import's high-water mark.
    """
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def run_benchmark(
    *, customers: int, segments: int, folder: Path, history_days: int, out: Console
) -> list[Figure]:
    """Run every stage, print a table of figures, and return them."""
    results = _Results(out)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    end = dt.date(2026, 6, 30)
    out.print(f"Generating a store of {customers:,} customers (in a separate process)…")
    # NOTE: generated in a child process so that its memory (numpy keeps freed arenas) does
    # not count in the peak RSS of the stages measured below.
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        counts = pool.apply(_generate, (customers, end, folder))
    out.print(
        f"  {counts['orders']:,} orders, {counts['order_lines']:,} lines; the daily run "
        f"ingests {end}'s {counts['day_orders']:,} orders (new and cancelled) and "
        f"{counts['day_order_lines']:,} lines",
        highlight=False,
    )
    ws = Workspace.create(folder / "workspace", shop_id="bench")
    try:
        _import_and_run(ws, results, folder, end, segments, history_days)
    finally:
        ws.close()
        results.meter.stop()
    _print(results.rows, out)
    return results.rows


def _generate(customers: int, end: dt.date, folder: Path) -> dict[str, int]:
    """The store as Parquet: everything known before ``end`` in ``parquet/``, and ``end``'s
    own orders (and cancellations of earlier ones) in ``day/``, for the daily run to ingest."""
    tables = generate_store(customers, seed=7, end_date=end, shop_id="bench")
    counts = {name: table.num_rows for name, table in tables.items()}
    history, day = split_last_day(tables, end, "Asia/Tokyo")
    write_parquet(history, folder / "parquet")
    write_parquet(day, folder / "day")
    return counts | {f"day_{name}": table.num_rows for name, table in day.items()}


def split_last_day(
    tables: dict[str, pa.Table], day: dt.date, tz: str
) -> tuple[dict[str, pa.Table], dict[str, pa.Table]]:
    """Split a store into what was known before ``day`` and what ``day`` brought.

    ``day`` brings the orders processed on it (shop time zone) with their lines, and the
    earlier orders cancelled on it (in the first part they are not cancelled yet).

    >>> ts = pa.array([dt.datetime(2026, 6, 29, 14), dt.datetime(2026, 6, 29, 16)])
    >>> orders = pa.table({"order_id": ["a", "b"], "processed_at": ts,
    ...                    "cancelled_at": pa.array([ts[1].as_py(), None])})
    >>> lines = pa.table({"order_id": ["a", "b"], "line_id": ["1", "2"]})
    >>> before, on = split_last_day({"orders": orders, "order_lines": lines},
    ...                             dt.date(2026, 6, 30), "Asia/Tokyo")
    >>> before["orders"].to_pydict()["cancelled_at"], on["orders"]["order_id"].to_pylist()
    ([None], ['a', 'b'])
    >>> on["order_lines"]["line_id"].to_pylist()
    ['2']
    """
    start = dt.datetime.combine(day, dt.time(), zoneinfo.ZoneInfo(tz))
    cutoff = pa.scalar(start.astimezone(dt.UTC).replace(tzinfo=None), pa.timestamp("us"))
    orders, lines = tables["orders"], tables["order_lines"]
    placed = pc.greater_equal(orders["processed_at"], cutoff)
    cancelled = pc.fill_null(pc.greater_equal(orders["cancelled_at"], cutoff), False)
    known = orders.filter(pc.invert(placed))
    still_open = pc.fill_null(pc.greater_equal(known["cancelled_at"], cutoff), False)
    uncancelled = pc.if_else(still_open, pa.scalar(None, known["cancelled_at"].type),
                             known["cancelled_at"])
    known = known.set_column(known.schema.get_field_index("cancelled_at"), "cancelled_at",
                             uncancelled)
    new_ids = orders.filter(placed)["order_id"]
    new_lines = pc.is_in(lines["order_id"], value_set=new_ids)
    before = dict(tables) | {"orders": known, "order_lines": lines.filter(pc.invert(new_lines))}
    on_day = {"orders": orders.filter(pc.or_(placed, cancelled)),
              "order_lines": lines.filter(new_lines)}
    return before, on_day


def _import_and_run(
    ws: Any, results: _Results, folder: Path, end: dt.date, segments: int, history_days: int
) -> None:

    with results.stage("import from Parquet"):
        import_parquet_folder(ws.warehouse, folder / "parquet", tz=ws.settings.shop.timezone)
    queries = (BENCH_QUERIES * (segments // len(BENCH_QUERIES) + 1))[:segments]
    # NOTE: every later stage runs in a fresh process, as `segmentry run` and `segments add`
    # do: a warm process would carry the import's buffers and arenas.
    ws.close()
    place = folder / "workspace"
    settings = config.load(place)  # the daily run ingests the last day's Parquet folder
    settings.sources = [SourceSettings.model_validate({"kind": "parquet", "path": "../day"})]
    config.save(settings, place)
    yesterday = end - dt.timedelta(days=1)
    results.add(
        _in_child("setup: yesterday's segments", _setup, place, queries, yesterday)
    )
    results.add(_in_child(f"daily run ({segments} segments)", _daily_run, place, end))
    results.add(
        _in_child(f"history: {history_days} days of one new segment", _history, place, end,
                  history_days)
    )
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        figure = pool.apply(_compare_in_child, (place, end))
    results.add(figure)


def _setup(ws: Any, queries: list[str], day: dt.date) -> str:
    """Facts, and segments computed through ``day``: the state a daily run starts from.

    The segments' ledgers hold ``day``'s members only (a full history of each would take
    the setup 50 history computations); the daily run reads nothing older.
    """
    con = ws.warehouse
    build_facts(con, subtract_refunds=ws.settings.metrics.subtract_refunds)
    named = {f"bench {i + 1:02d}": ws.validate(q) for i, q in enumerate(queries)}
    now = utcnow()
    with Snapshot(con, day) as snapshot, ws.state.begin() as conn:
        for (name, members), query in zip(snapshot.members_of_all(named).items(), queries,
                                          strict=True):
            start = members.mutate(valid_from=day, valid_to=None)
            segment_id = conn.execute(
                schema.segments.insert().values(
                    name=name, display_name=name, description="", version=1,
                    computed_through=day,
                    history_start=day, created_at=now, updated_at=now,
                )
            ).inserted_primary_key[0]
            conn.execute(schema.segment_versions.insert().values(
                segment_id=segment_id, version=1, query=query, created_at=now
            ))
            ledger = write_history(con, segment_id, _intervals(start), tag="bench")
            conn.execute(schema.segments.update().where(schema.segments.c.id == segment_id)
                         .values(ledger=ledger))
    return f"{len(queries)} segments"


def _daily_run(ws: Any, day: dt.date) -> str:
    """``segmentry run`` for ``day``: the pipeline itself, ingesting the day's Parquet."""
    report = ws.run(day)
    stages = ", ".join(f"{s.stage} {s.seconds:.1f} s" for s in report.stages)
    moves = sum(report.joined.values()) + sum(report.left.values())
    return f"{stages}; {moves:,} joins+leaves"


def _compare_in_child(place: Path, end: dt.date) -> Figure:

    results = _Results(Console(quiet=True))
    with Workspace.open(place) as ws:
        _compare_hand_written(ws, results, end)
    results.meter.stop()
    return results.rows[-1]


def _in_child(stage: str, work: Any, *args: Any) -> Figure:
    """Run ``work(workspace, *args)`` in a fresh process; its own wall, CPU and peak RSS."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        seconds, cpu, peak, note = pool.apply(_measured, (work, *args))
    return Figure(stage, seconds, cpu, peak, note)


def _measured(work: Any, place: Path, *args: Any) -> tuple[float, float, int, str]:

    meter, process = _Meter(), psutil.Process()
    meter.reset()
    cpu, started = _cpu(process), time.perf_counter()
    with Workspace.open(place) as ws:
        note = work(ws, *args)
    seconds, used = time.perf_counter() - started, _cpu(process) - cpu
    meter.stop()
    return seconds, used, meter.peak, note


def _history(ws: Any, end: dt.date, days: int) -> str:

    con = ws.warehouse
    condition = ws.validate("number_of_orders >= 2 AND last_order_date < -90d")
    start = end - dt.timedelta(days=days - 1)
    ledger = write_history(con, 999, membership_history(con, condition, start, end), tag="h")
    frame = daily_metrics(con, stretches(con, ledger), start, end)
    return f"{len(frame)} days of metrics"


def _intervals(members: Any) -> Any:

    return members.select(
        "customer_id",
        valid_from=members.valid_from.cast("date"),
        valid_to=ibis.null().cast("date"),
    )


def _compare_hand_written(ws: Any, results: _Results, day: dt.date) -> None:
    """Run time of our compiled SQL vs hand-written SQL for the same segments (best of 3).

    Both run as SQL text on the same DuckDB connection; compiling the query (Python, a fixed
    cost per query) is reported apart.
    """
    con = ws.warehouse
    raw = con.con  # the duckdb connection under Ibis
    ours_total = hand_total = compile_total = 0.0
    for query, hand_sql in HAND_WRITTEN_SQL.items():
        started = time.perf_counter()
        our_sql = str(con.compile(members_on(con, ws.validate(query), day)))
        compile_total += time.perf_counter() - started
        ours, ours_s = _best_of_3(lambda sql=our_sql: raw.execute(sql).fetchall())
        hand, hand_s = _best_of_3(lambda sql=hand_sql: raw.execute(sql, {"day": day}).fetchall())
        ours_total, hand_total = ours_total + ours_s, hand_total + hand_s
        if len(ours) != len(hand):
            results.add(Figure(f"MISMATCH {query}", 0.0, 0.0, 0, f"{len(ours)} vs {len(hand)}"))
    ratio = ours_total / hand_total if hand_total else float("nan")
    results.add(
        Figure(
            "compiled vs hand-written SQL",
            ours_total,
            0.0,
            results.meter.peak,
            f"{len(HAND_WRITTEN_SQL)} queries; hand-written {hand_total:.2f} s, ratio "
            f"{ratio:.2f}×; compiling ours {compile_total:.2f} s",
        )
    )


def _best_of_3(run: Any) -> tuple[Any, float]:
    best, result = float("inf"), None
    for _ in range(3):
        started = time.perf_counter()
        result = run()
        best = min(best, time.perf_counter() - started)
    return result, best


def _print(rows: list[Figure], out: Console) -> None:
    table = Table(title="segmentry bench")
    for column in ("stage", "wall time", "CPU time", "peak RSS", "notes"):
        table.add_column(column)
    for f in rows:
        table.add_row(
            f.stage, f"{f.seconds:.2f} s", f"{f.cpu_seconds:.2f} s",
            f"{f.peak_rss / 2**30:.2f} GiB", f.note,
        )
    overall = max((f.peak_rss for f in rows), default=0)
    table.caption = f"peak RSS over all stages: {overall / 2**30:.2f} GiB"
    out.print(table)
