"""One tick: plan what is due at a moment — commemoration reminders to subscribers, task
notices and digests to agencies — then deliver all of it through the one ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_

from ..app_context import Services
from ..delivery.channels import configured
from ..delivery.dispatch import BATCH, DispatchReport, Kind, dispatch
from ..delivery.models import PENDING, REMINDER, DeliveryRow
from ..plans.notices import KINDS as NOTICE_KINDS
from ..plans.notices import NoticePlan, plan_notices
from .delivering import ReminderKind
from .planner import PlanReport, plan
from .subscribers import sync_global_webhook


@dataclass
class TickReport:
    plan: PlanReport
    dispatch: DispatchReport | None  # None for a dry run
    would_send: list[str]
    notices: NoticePlan | None = None

    def counts(self) -> dict[str, int]:
        """The tick's figures, for its heartbeat and its log line."""
        d, notices = self.dispatch, self.notices
        return {
            "planned": self.plan.planned + (notices.planned if notices else 0),
            "sent": d.sent.total if d else 0,
            "retrying": d.retrying.total if d else 0,
            "failed": d.failed.total if d else 0,
            "skipped": (d.skipped.total if d else 0) + self.plan.skipped
                       + (notices.skipped if notices else 0),
            "lost": d.lost.total if d else 0,
        }


KEY = (DeliveryRow.subscriber_id, DeliveryRow.commemoration_id, DeliveryRow.year,
       DeliveryRow.occurrence_date, DeliveryRow.lead_days, DeliveryRow.channel)


def run_tick(services: Services, as_of: datetime | None = None, *, dry_run: bool = False,
             batch: int = BATCH) -> TickReport:
    s = services.settings
    as_of = as_of or services.clock.now()
    channels = list(configured(s).values())
    names = [c.name for c in channels]
    if dry_run:
        with services.database.sessions() as session:  # read only: never committed
            sync_global_webhook(session, s.webhook_url, s.webhook_scope, as_of)
            planned = plan(session, as_of, s.reminder_time, s.tz, channels, dry_run=True)
            notices = plan_notices(session, as_of, s.reminder_time, s.tz, names,
                                   dry_run=True)
            occurrences = list({(c, y) for _, c, y, _, _, _ in planned.due})
            # Only the rows of the occurrences now due, not the whole history.
            existing = set(session.execute(select(*KEY).where(
                tuple_(DeliveryRow.commemoration_id, DeliveryRow.year).in_(occurrences)))
            ) if occurrences else set()
            waiting = set(session.execute(select(*KEY).where(
                DeliveryRow.kind == REMINDER, DeliveryRow.status == PENDING,
                DeliveryRow.next_attempt_at <= as_of)))
            waiting_notices = [f"{key} {channel} → {address}" for key, channel, address in
                               session.execute(select(DeliveryRow.notice_key,
                                                      DeliveryRow.channel,
                                                      DeliveryRow.address).where(
                DeliveryRow.kind != REMINDER, DeliveryRow.status == PENDING,
                DeliveryRow.next_attempt_at <= as_of).order_by(DeliveryRow.id))]
        due = [k for k in planned.due if k not in existing] + sorted(waiting)
        return TickReport(planned, None, [f"{c} {y} −{lead}d {ch} → subscriber {sid}"
                                          for sid, c, y, _, lead, ch in due]
                          + notices.due + waiting_notices, notices)
    with services.database.session() as session:
        sync_global_webhook(session, s.webhook_url, s.webhook_scope, as_of)
        planned = plan(session, as_of, s.reminder_time, s.tz, channels)
        notices = plan_notices(session, as_of, s.reminder_time, s.tz, names)
    return TickReport(planned, dispatch(services, as_of, kinds(), batch=batch), [], notices)


def kinds() -> dict[str, Kind]:
    """Every kind of notice the ledger carries, by name: one dispatcher sends them all."""
    found: dict[str, Kind] = {REMINDER: ReminderKind()}
    found.update({kind.name: kind() for kind in NOTICE_KINDS})
    return found
