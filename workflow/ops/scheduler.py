"""Runs the escalation sweep on a schedule. The only module that imports APScheduler.

Two jobs on one worker thread, so they never overlap: the sweep (every ``every``, first run at
start-up; it delivers what it raised, one digest per recipient) and, between sweeps, a delivery
pass every ``DELIVER_EVERY`` so that a block raised by a move goes out within seconds rather
than at the next sweep. Missed runs coalesce. A job that fails is logged and the schedule goes
on. SIGINT/SIGTERM stop the scheduler and set the ``stop`` event the jobs were given: a delivery
in progress gives up at once (its rows stay pending), the sweep's transaction commits or rolls
back, and the process exits within seconds.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from workflow import clock, logs
from workflow.errors import UsageError
from workflow.i18n import _
from workflow.ops.channels import host_config
from workflow.ops.sweep import deliver, sweep
from workflow.store.db import Store
from workflow.text import DurationError, parse_duration

log = logs.get_logger("workflow.watch")
DELIVER_EVERY = timedelta(seconds=5)
MAX_EVERY = timedelta(days=366)


def run_every(every: timedelta, sweep: Callable[[threading.Event], list],
              deliver: Callable[[threading.Event], object] | None = None) -> int:
    """Blocks until SIGINT/SIGTERM; returns the number of sweeps run."""
    runs: dict[str, int] = {"count": 0, "stopping": 0}
    stopping = threading.Event()

    def job() -> None:
        started = time.perf_counter()
        try:
            actions = sweep(stopping)
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

    def deliver_job() -> None:
        try:
            deliver(stopping)  # type: ignore[misc]
        except Exception as err:  # a failed delivery must not stop the schedule
            log.error("delivery_job_failed", error=f"{type(err).__name__}: {err}")

    # One worker: a delivery pass never runs beside the sweep (it would split its digests).
    scheduler = BlockingScheduler(timezone=UTC, executors={"default": ThreadPoolExecutor(1)})
    scheduler.add_job(job, IntervalTrigger(seconds=every.total_seconds(), timezone=UTC),
                      id="sweep", coalesce=True, max_instances=1, misfire_grace_time=None,
                      next_run_time=datetime.now(UTC))
    if deliver is not None and every > DELIVER_EVERY:
        scheduler.add_job(deliver_job, IntervalTrigger(
            seconds=DELIVER_EVERY.total_seconds(), timezone=UTC), id="deliver",
            coalesce=True, max_instances=1, misfire_grace_time=None)

    def stop(signum, _frame) -> None:
        # Only the first signal acts. A second one while stopping (an impatient Ctrl-C, a
        # supervisor resending SIGTERM) must not raise SchedulerNotRunningError out of the
        # handler, which would turn a clean stop into an internal error (exit 1).
        if runs["stopping"]:
            return
        runs["stopping"] = 1
        stopping.set()
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
    """``--every``: a whole number with s, m, h, d or w, at most a year (366d): longer is
    surely a typo; far longer overflows a datetime."""
    number = re.fullmatch(r"\s*([0-9]+)\s*([a-zA-Z])\s*", every)
    try:
        if number and len(number[1].lstrip("0")) > 6:
            raise DurationError("long")
        value = parse_duration(f"{number[1]}{number[2]}" if number else every, units="smhdw")
    except DurationError as err:
        if err.why != "long":
            raise UsageError(_("--every {every!r}: write a whole number with s, m, h, d or w, "
                               "e.g. 15m").format(every=every)) from None
        value = MAX_EVERY * 2
    if value > MAX_EVERY:
        raise UsageError(_("--every {every!r}: at most a year (366d); e.g. 15m").format(
            every=every))
    return value


def watch(every: str, store: Store, plan_id: str | None) -> int:
    """``workflow watch``: the sweep every ``every``, and delivery passes between sweeps,
    until SIGINT/SIGTERM. A broken notify configuration stops it now (exit 2), not every
    pass."""
    period = interval(every)
    host_config()
    return run_every(period,
                     lambda stop: sweep(store, plan_id=plan_id, now=clock.now(), stop=stop),
                     lambda stop: deliver(store, clock.now(), stop, warn=False))
