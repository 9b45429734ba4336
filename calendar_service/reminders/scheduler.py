"""The tick. APScheduler only says "now"; everything that matters lives in the database, so
a restart, a missed tick or a second scheduler process loses and duplicates nothing."""

from __future__ import annotations

import logging
from datetime import datetime

from ..app_context import Services
from ..feeds.publish import publish_job
from ..plans.keep import keep_job
from .tick import run_tick

log = logging.getLogger("calendar_service.reminders")


def tick_job(services: Services) -> None:
    # First, this and next year's plans, kept generated (plans/keep.py; never raises).
    keep_job(services)
    # Then the static feed files, when the data or the day changed (feeds/publish.py; never
    # raises). Before the reminders: a slow mail server must not hold the feeds back.
    publish_job(services)
    try:
        report = run_tick(services)
    except Exception:  # noqa: BLE001 - a failed tick must not stop the scheduler
        log.exception("reminder tick failed; the next tick will retry")
        return
    d = report.dispatch
    if d and (d.sent.total or d.failed.total or d.retrying.total or report.plan.planned):
        log.info("reminders: %d planned, %d sent, %d retrying, %d failed, %d skipped",
                 report.plan.planned, d.sent.total, d.retrying.total, d.failed.total,
                 d.skipped.total + report.plan.skipped)
        for line in d.failed:
            log.warning("reminder failed: %s", line)
    for line in d.lost if d else ():
        log.warning("reminder left to another run (claim released as stale): %s", line)


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
    return scheduler
