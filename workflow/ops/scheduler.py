"""Runs the escalation sweep on a schedule. The only module that imports APScheduler.

One job, coalesced (a backlog of missed runs becomes one run), never overlapping itself, first
run at start-up. A sweep that fails is logged and the schedule goes on. SIGINT/SIGTERM stop
the scheduler cleanly; the sweep in progress, one transaction, either commits or rolls back.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from workflow import clock, logs
from workflow.errors import UsageError
from workflow.ops.sweep import sweep
from workflow.store.db import Store
from workflow.text import DurationError, parse_duration

log = logs.get_logger("workflow.watch")


def run_every(every: timedelta, sweep: Callable[[], list]) -> int:
    """Blocks until SIGINT/SIGTERM; returns the number of sweeps run."""
    runs: dict[str, int] = {"count": 0, "stopping": 0}

    def job() -> None:
        started = time.perf_counter()
        try:
            actions = sweep()
        except Exception as err:  # a failed sweep must not stop the schedule
            log.error("sweep_failed", error=f"{type(err).__name__}: {err}",
                      seconds=round(time.perf_counter() - started, 3))
            return
        finally:
            runs["count"] += 1
        counts = {a: sum(1 for x in actions if x.action == a)
                  for a in ("raised", "climbed", "resolved")}
        log.info("sweep_ran", seconds=round(time.perf_counter() - started, 3), **counts,
                 tasks=sorted({f"{x.plan}/{x.task}" for x in actions})[:20])

    scheduler = BlockingScheduler(timezone=UTC)
    scheduler.add_job(job, IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
                      id="sweep", coalesce=True, max_instances=1, misfire_grace_time=None,
                      next_run_time=datetime.now(UTC))

    def stop(signum, _frame) -> None:
        # Only the first signal acts. A second one while stopping (an impatient Ctrl-C, a
        # supervisor resending SIGTERM) must not raise SchedulerNotRunningError out of the
        # handler, which would turn a clean stop into an internal error (exit 1).
        if runs["stopping"]:
            return
        runs["stopping"] = 1
        log.info("watch_stopping", signal=signal.Signals(signum).name)
        if scheduler.running:
            scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("watch_started", every_seconds=int(every.total_seconds()))
    if not runs["stopping"]:  # a signal before the start is a stop, not ignored
        scheduler.start()
    log.info("watch_stopped", sweeps=runs["count"])
    return runs["count"]


def interval(every: str) -> timedelta:
    """``--every``: a whole number with s, m, h, d or w (at most ten years)."""
    try:
        return parse_duration(every, units="smhdw")
    except DurationError:
        raise UsageError(f"--every {every!r}: write a whole number with s, m, h, d or w, "
                         "e.g. 15m (at most 3650d)") from None


def watch(every: str, store: Store, plan_id: str | None) -> int:
    """``workflow watch``: the sweep every ``every`` until SIGINT/SIGTERM."""
    return run_every(interval(every), lambda: sweep(store, plan_id=plan_id, now=clock.now()))
