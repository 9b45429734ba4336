"""One reminder tick: plan what is due at a moment, then deliver it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_

from ..app_context import Services
from .channels import configured
from .dispatch import BATCH, DispatchReport, dispatch
from .models import PENDING, DeliveryRow
from .planner import PlanReport, plan
from .subscribers import sync_global_webhook


@dataclass
class TickReport:
    plan: PlanReport
    dispatch: DispatchReport | None  # None for a dry run
    would_send: list[str]


KEY = (DeliveryRow.subscriber_id, DeliveryRow.commemoration_id, DeliveryRow.year,
       DeliveryRow.occurrence_date, DeliveryRow.lead_days, DeliveryRow.channel)


def run_tick(services: Services, as_of: datetime | None = None, *, dry_run: bool = False,
             batch: int = BATCH) -> TickReport:
    s = services.settings
    as_of = as_of or services.clock.now()
    channels = list(configured(s).values())
    if dry_run:
        with services.database.sessions() as session:  # read only: never committed
            sync_global_webhook(session, s.webhook_url, s.webhook_scope, as_of)
            planned = plan(session, as_of, s.reminder_time, s.tz, channels, dry_run=True)
            occurrences = list({(c, y) for _, c, y, _, _, _ in planned.due})
            # Only the rows of the occurrences now due, not the whole history.
            existing = set(session.execute(select(*KEY).where(
                tuple_(DeliveryRow.commemoration_id, DeliveryRow.year).in_(occurrences)))
            ) if occurrences else set()
            waiting = set(session.execute(select(*KEY).where(
                DeliveryRow.status == PENDING, DeliveryRow.next_attempt_at <= as_of)))
        due = [k for k in planned.due if k not in existing] + sorted(waiting)
        return TickReport(planned, None, [f"{c} {y} −{lead}d {ch} → subscriber {sid}"
                                          for sid, c, y, _, lead, ch in due])
    with services.database.session() as session:
        sync_global_webhook(session, s.webhook_url, s.webhook_scope, as_of)
        planned = plan(session, as_of, s.reminder_time, s.tz, channels)
    return TickReport(planned, dispatch(services, as_of, batch=batch), [])
