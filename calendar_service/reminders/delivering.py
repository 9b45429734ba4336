"""Reminders as the delivery ledger sends them: the `Kind` that turns a claimed reminder row
into a letter — after checking, at send time, that it still holds (the subscriber still
receives, the commemoration is not cancelled, its date did not move, it is not past)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from ..anniversaries import Occurrence, occurrence_in
from ..catalogue.renames import with_today_name
from ..delivery.channels import Attachment, Letter, Recipient, countdown
from ..delivery.dispatch import Prepared, Run, ours
from ..delivery.models import REMINDER, DeliveryRow
from ..feeds.ical import FeedSite, occurrence_calendar
from ..store import occurrences_between
from ..store.models import CommemorationRow
from ..store.queries import StoredCommemoration, to_stored
from ..vietnamese import official_date
from .models import SubscriberRow
from .tokens import make_token

UNSUBSCRIBE = "unsubscribe"

# A claimed reminder and its subscriber, as they are now (one statement, fenced).
LOAD = ours(select(
    DeliveryRow.commemoration_id, DeliveryRow.year, DeliveryRow.occurrence_date,
    DeliveryRow.lead_days, DeliveryRow.channel, DeliveryRow.attempts,
    SubscriberRow.receives.label("receives"), SubscriberRow.id.label("subscriber_id"),
    SubscriberRow.email, SubscriberRow.name, SubscriberRow.webhook_url,
    SubscriberRow.email_enabled)
    .join(SubscriberRow, SubscriberRow.id == DeliveryRow.subscriber_id))


def message_id(commemoration_id: str, year: int, occurrence_date: date, lead_days: int,
               channel: str, email: str, host: str) -> str:
    """Deterministic per delivery: a repeated send carries the same id, clients collapse it."""
    who = hashlib.sha256(email.lower().encode()).hexdigest()[:16]
    return (f"<reminder.{commemoration_id}.{year}.{occurrence_date:%Y%m%d}.{lead_days}d."
            f"{channel}.{who}@{host}>")


def subject(occ: Occurrence, days_left: int) -> str:
    assert occ.date is not None
    lunar = f", {occ.lunar_label}" if occ.lunar_label else ""
    return (f"[Lịch kỷ niệm] {countdown(days_left)}: {occ.title} "
            f"({official_date(occ.date)}{lunar})")


@dataclass(frozen=True, slots=True)
class Reminder:
    """What the reminder templates see as `r`: one occurrence, one lead time, one
    recipient."""

    occurrence: Occurrence
    days_left: int
    recipient_email: str
    recipient_name: str | None
    event_url: str
    unsubscribe_url: str
    upcoming: Sequence[Occurrence]  # the other commemorations of the next 30 days


class _Shared:
    """What the recipients of one occurrence share, read or built once per run: the
    commemoration (read again each batch, so a cancellation shows within one), the other
    commemorations of the next 30 days, the occurrence's .ics."""

    def __init__(self, run: Run) -> None:
        self.database = run.services.database
        self.site = FeedSite.of(run.services)
        self.today = run.now.astimezone(run.services.settings.tz).date()
        self.batch = run.batch
        self.stored: dict[str, StoredCommemoration | None] = {}
        self._upcoming: list[Occurrence] | None = None
        self._calendars: dict[tuple[str, int, int], bytes] = {}

    def commemoration(self, ident: str) -> StoredCommemoration | None:
        if ident not in self.stored:
            with self.database.session() as session:
                row = session.get(CommemorationRow, ident)
                self.stored[ident] = None if row is None else to_stored(row)
        return self.stored[ident]

    def upcoming(self, occ: Occurrence) -> list[Occurrence]:
        if self._upcoming is None:
            with self.database.session() as session:
                self._upcoming = occurrences_between(session, self.today,
                                                     self.today + timedelta(days=30),
                                                     include_undated=False)
        return [o for o in self._upcoming if (o.id, o.year) != (occ.id, occ.year)]

    def calendar(self, occ: Occurrence, stored: StoredCommemoration) -> bytes:
        key = (occ.id, occ.year, stored.revision)
        if key not in self._calendars:
            self._calendars[key] = occurrence_calendar(occ, stored, self.site)
        return self._calendars[key]


def still_due(row, stored: StoredCommemoration | None, today: date) -> tuple[
        Occurrence | None, str | None]:
    """Re-check at send time: the plan may be stale (cancelled, moved, unsubscribed)."""
    if not row.receives:
        return None, "subscriber unsubscribed or not confirmed"
    if stored is None or stored.cancelled:
        return None, "commemoration cancelled"
    occ = occurrence_in(stored.commemoration, row.year)
    if occ is None or occ.date != row.occurrence_date:
        return None, "occurrence date changed; a reminder for the new date is planned"
    if occ.date < today:
        return None, "occurrence already past"
    return occ, None


class ReminderKind:
    name = REMINDER

    def prepare(self, run: Run, delivery_id: int) -> Prepared | None:
        row = run.load(LOAD, delivery_id)
        if row is None:
            return None
        shared = run.cache.get(REMINDER)
        if shared is None or shared.batch != run.batch:
            # Commemorations are read again for each batch; the rest lasts the run.
            fresh = _Shared(run)
            if shared is not None:
                fresh._upcoming, fresh._calendars = shared._upcoming, shared._calendars
            shared = run.cache[REMINDER] = fresh
        label = (f"{row.commemoration_id} {row.year} −{row.lead_days}d {row.channel} → "
                 f"{row.email}")
        stored = shared.commemoration(row.commemoration_id)
        occ, reason = still_due(row, stored, shared.today)
        recipient = Recipient(row.email, row.name, row.webhook_url, bool(row.email_enabled))
        channel = run.channels.get(row.channel)
        address = channel.address(recipient) if channel is not None else None
        if reason is None and address is None:
            reason = f"no {row.channel} address any more"
        if reason is not None:
            return Prepared(label, row.channel, row.attempts, skip=reason)
        assert occ is not None and occ.date is not None and stored is not None
        return Prepared(label, row.channel, row.attempts,
                        letter=self.letter(run, shared, row, occ, stored, recipient, address))

    @staticmethod
    def letter(run: Run, shared: _Shared, row, occ: Occurrence, stored: StoredCommemoration,
               recipient: Recipient, address: str) -> Letter:
        settings = run.services.settings
        assert occ.date is not None
        token = make_token(settings.secret_key, UNSUBSCRIBE, row.subscriber_id, row.email)
        days_left = (occ.date - shared.today).days
        reminder = Reminder(
            occurrence=occ, days_left=days_left, recipient_email=row.email,
            recipient_name=row.name, event_url=shared.site.event_url(occ.id),
            unsubscribe_url=f"{settings.base_url}/unsubscribe/{token}",
            upcoming=shared.upcoming(occ))
        return Letter(
            template="email/reminder",
            context={"r": reminder, "occ": occ, "c": occ.commemoration,
                     "countdown": countdown(days_left),
                     # the place as written, with today's name beside it if renamed since
                     "location": with_today_name(occ.commemoration.location,
                                                 shared.site.renames, shared.today)},
            subject=subject(occ, days_left), address=address, recipient_name=row.name,
            message_id=message_id(row.commemoration_id, row.year, row.occurrence_date,
                                  row.lead_days, row.channel, row.email, shared.site.host),
            sent_at=run.now, unsubscribe_url=reminder.unsubscribe_url,
            attachments=(Attachment(f"{occ.id}-{occ.year}.ics",
                                    shared.calendar(occ, stored)),))
