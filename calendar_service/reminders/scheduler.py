"""The tick. APScheduler only says "now"; everything that matters lives in the database, so
a restart, a missed tick or a second scheduler process loses and duplicates nothing.

Every tick records itself in the `tick` heartbeat (store/heartbeat.py) — when it started
and finished, ok or the error, its duration and counts — which /readyz and /metrics read,
and writes one log line."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from ..app_context import Services
from ..feeds.publish import publish_job
from ..plans.keep import keep_job
from ..store import heartbeat
from .tick import TickReport, run_tick

log = logging.getLogger("calendar_service.reminders")

TICK = "tick"  # the heartbeat's name


def tick_job(services: Services) -> TickReport | None:
    """One scheduled tick; never raises (the next tick retries). None when it failed."""
    clock = services.clock
    started, t0 = clock.now(), time.perf_counter()
    _record(services, lambda session: heartbeat.begin(session, TICK, started=started))
    report: TickReport | None = None
    error: str | None = None
    try:
        # First, this and next year's plans, kept generated (plans/keep.py; never raises).
        keep_job(services)
        report = run_tick(services)
    except Exception as exc:  # noqa: BLE001 - a failed tick must not stop the scheduler
        log.exception("reminder tick failed; the next tick will retry")
        error = f"{type(exc).__name__}: {exc}"
    seconds = round(time.perf_counter() - t0, 3)
    counts = report.counts() if report else {}
    detail = {"duration_seconds": seconds, **counts}
    _record(services, lambda session: heartbeat.beat(
        session, TICK, started=started, finished=clock.now(), ok=report is not None,
        error=error, detail=detail))
    if report is None:
        log.error("tick failed after %.3f s: %s", seconds, error,
                  extra={"event": "tick", "duration_ms": round(seconds * 1000, 1),
                         "ok": False})
        return None
    log.info("tick ok in %.3f s: %d planned, %d sent, %d retrying, %d failed, %d skipped",
             seconds, counts["planned"], counts["sent"], counts["retrying"], counts["failed"],
             counts["skipped"], extra={"event": "tick", "duration_ms": round(seconds * 1000, 1),
                                       "ok": True, **counts})
    d = report.dispatch
    for line in d.failed if d else ():
        log.warning("reminder failed: %s", line)
    for line in d.lost if d else ():
        log.warning("reminder left to another run (claim released as stale): %s", line)
    return report


def _record(services: Services, write) -> None:
    """A heartbeat write; its failure (the database is down) is logged, never raised."""
    try:
        with services.database.session() as session:
            write(session)
    except Exception:  # noqa: BLE001 - watching must not stop the work it watches
        log.warning("could not record the tick's heartbeat", exc_info=True)


def make_scheduler(services: Services, *, blocking: bool = False):
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=services.settings.tz)
    scheduler.add_job(
        tick_job, "interval", args=[services], id="reminders",
        seconds=services.settings.tick_seconds,
        coalesce=True,  # after a pause, one tick, not one per missed interval
        misfire_grace_time=24 * 3600,
        max_instances=1,
        next_run_time=datetime.now(services.settings.tz),  # catch up at start
    )
    # The static feed files, when the data or the day changed (feeds/publish.py; never
    # raises): a job of its own, in its own thread, so that a long publish (minutes for a
    # fresh process at 20,000 commemorations) never holds the reminders back, nor a slow
    # mail server the feeds.
    scheduler.add_job(
        publish_job, "interval", args=[services], id="publish",
        seconds=services.settings.tick_seconds, coalesce=True,
        misfire_grace_time=24 * 3600, max_instances=1,
        next_run_time=datetime.now(services.settings.tz),
    )
    return scheduler
