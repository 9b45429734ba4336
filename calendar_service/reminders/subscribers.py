"""Managing subscribers: validated input, no duplicates, nothing half-written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..catalogue import CATEGORIES
from ..catalogue.model import CONTROL_IN_LINE, MAX_LEAD_DAYS
from ..vietnamese import email_problem
from .models import GLOBAL_WEBHOOK_EMAIL, SCOPE_NOTABLE, SCOPES, SubscriberRow


class SubscriberError(ValueError):
    """Bad subscriber input; the message says which field and why."""


class EmailAddressError(SubscriberError):
    """A refused address; `reason` says why in Vietnamese (a form shows it by the field)."""

    def __init__(self, address: str, reason: str) -> None:
        super().__init__(f"địa chỉ e-mail không hợp lệ {address!r}: {reason}")
        self.reason = reason


def normalise_email(address: str) -> str:
    """A deliverable-looking address, lower-cased domain; raises SubscriberError.

    A domain may be internationalised (it is sent as IDNA, see delivery/channels/email.py ascii_email); the part
    before the @ may not, as that would need SMTPUTF8, which many mail servers lack."""
    try:
        # No DNS look-up: the service may run on a closed network.
        result = validate_email(address.strip(), check_deliverability=False,
                                allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise EmailAddressError(address, email_problem(str(exc))) from None
    return result.normalized


def clean_text(value: str | None, field: str, limit: int = 200) -> str | None:
    """Names end up in mail headers: refuse line breaks and control characters outright."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if CONTROL_IN_LINE.search(value):
        raise SubscriberError(f"{field}: không được chứa ký tự điều khiển hoặc xuống dòng")
    if len(value) > limit:
        raise SubscriberError(f"{field}: tối đa {limit} ký tự")
    return value


def parse_categories(values: Iterable[str] | None) -> list[str] | None:
    if not values:
        return None
    chosen = sorted({v.strip() for v in values if v.strip()})
    unknown = [c for c in chosen if c not in CATEGORIES]
    if unknown:
        raise SubscriberError(f"nhóm không tồn tại: {', '.join(unknown)}; các nhóm: "
                              + ", ".join(sorted(CATEGORIES)))
    return chosen or None


def parse_lead_days(values: Iterable[int] | None) -> list[int] | None:
    if not values:
        return None
    days = sorted(set(values), reverse=True)
    if any(not 1 <= d <= MAX_LEAD_DAYS for d in days):
        raise SubscriberError(f"số ngày báo trước phải từ 1 đến {MAX_LEAD_DAYS}")
    return days


def check_webhook(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SubscriberError(f"webhook: cần một URL http(s)://, không phải {url!r}")
    return url.strip()


@dataclass(frozen=True)
class NewSubscriber:
    email: str
    name: str | None = None
    organisation: str | None = None
    categories: list[str] | None = None
    scope: str = SCOPE_NOTABLE
    lead_days: list[int] | None = None
    webhook_url: str | None = None

    @classmethod
    def parse(cls, email: str, *, name: str | None = None, organisation: str | None = None,
              categories: Iterable[str] | None = None, scope: str = SCOPE_NOTABLE,
              lead_days: Iterable[int] | None = None, webhook_url: str | None = None
              ) -> NewSubscriber:
        if scope not in SCOPES:
            raise SubscriberError(f"phạm vi {scope!r} không hợp lệ; chọn: {', '.join(SCOPES)}")
        return cls(normalise_email(email), clean_text(name, "tên"),
                   clean_text(organisation, "cơ quan"), parse_categories(categories), scope,
                   parse_lead_days(lead_days), check_webhook(webhook_url))


def find(session: Session, email: str) -> SubscriberRow | None:
    return session.scalar(select(SubscriberRow).where(
        func.lower(SubscriberRow.email) == email.lower()))


def add(session: Session, new: NewSubscriber, now: datetime, *, confirmed: bool = True
        ) -> SubscriberRow:
    """Add a subscriber; an administrator's add is confirmed, a web sign-up is pending."""
    if find(session, new.email) is not None:
        raise SubscriberError(f"{new.email} đã đăng ký")
    row = SubscriberRow(
        email=new.email, name=new.name, organisation=new.organisation,
        categories=new.categories, scope=new.scope, lead_days=new.lead_days,
        webhook_url=new.webhook_url, active=True, created_at=now,
        confirmed_at=now if confirmed else None)
    session.add(row)
    session.flush()
    return row


def remove(session: Session, email: str) -> bool:
    """Delete a subscriber and their delivery history; False when there was none."""
    row = find(session, email.strip())
    if row is None:
        return False
    if row.email == GLOBAL_WEBHOOK_EMAIL:
        # Deleting its history would let the next tick post today's reminders again.
        raise SubscriberError("kênh chat chung theo cấu hình CALENDAR_WEBHOOK_URL: bỏ thiết "
                              "lập đó để dừng")
    session.delete(row)
    return True


def unsubscribe(session: Session, row: SubscriberRow, now: datetime) -> None:
    """Keep the row (and its history), stop sending (the person's own choice: they may sign
    up again)."""
    if row.active:
        row.active = False
        row.unsubscribed_at = now


def deactivate_by_admin(session: Session, row: SubscriberRow, who: str, now: datetime) -> None:
    """An administrator stops the sending: no confirmation link and no new sign-up undoes
    it, only `reactivate_by_admin`."""
    unsubscribe(session, row, now)
    row.deactivated_by = who


def reactivate_by_admin(session: Session, row: SubscriberRow) -> None:
    row.active, row.unsubscribed_at, row.deactivated_by = True, None, None


# --- The public sign-up (double opt-in) ---------------------------------------------------

@dataclass(frozen=True)
class Claim:
    """The right to send one confirmation e-mail, taken atomically (see `sign_up`)."""

    subscriber_id: int
    email: str
    name: str | None
    sent_at: datetime


def sign_up(session: Session, new: NewSubscriber, now: datetime, cooldown: timedelta
            ) -> Claim | None:
    """A sign-up from the public form: a pending subscriber (or the preferences of one who
    is pending or unsubscribed themselves), and the right to send the confirmation e-mail —
    or None when none is to be sent: the address already receives, an administrator
    stopped it, or one was sent less than `cooldown` ago.

    Safe however many of these run at once for one address: the row is inserted with ON
    CONFLICT DO NOTHING (no IntegrityError, no 500), and the right to send is claimed by one
    conditional UPDATE of `confirmation_sent_at`, which only one of them can win."""
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    if find(session, new.email) is None:
        session.execute(insert(SubscriberRow.__table__).values(
            email=new.email, name=new.name, organisation=new.organisation,
            categories=new.categories, scope=new.scope, lead_days=None, webhook_url=None,
            email_enabled=True, active=True, created_at=now, confirmed_at=None,
        ).on_conflict_do_nothing(index_elements=["email"]))
    row = find(session, new.email)
    if row is None or row.receives or row.deactivated_by is not None:
        return None  # the same answer as any other: nothing is disclosed
    if row.confirmed_at is not None or not row.active:
        # Unsubscribed earlier (by themselves): asked again, with the preferences given now.
        row.active, row.confirmed_at, row.unsubscribed_at = True, None, None
    row.categories, row.scope = new.categories, new.scope
    session.flush()
    claimed = session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == row.id, SubscriberRow.confirmed_at.is_(None),
               SubscriberRow.deactivated_by.is_(None),
               or_(SubscriberRow.confirmation_sent_at.is_(None),
                   SubscriberRow.confirmation_sent_at <= now - cooldown))
        .values(confirmation_sent_at=now)
        .returning(SubscriberRow.id)
        .execution_options(synchronize_session=False)).first()
    if claimed is None:
        return None
    return Claim(row.id, row.email, row.name, now)


def release(session: Session, claim: Claim) -> None:
    """The confirmation could not be sent: let the person ask again at once."""
    session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == claim.subscriber_id,
               SubscriberRow.confirmation_sent_at == claim.sent_at)
        .values(confirmation_sent_at=None)
        .execution_options(synchronize_session=False))


def confirm(session: Session, subscriber_id: int, sent_at: datetime, now: datetime) -> bool:
    """Confirm a pending subscriber through the link sent at `sent_at`: once (the link's
    moment is cleared), and never over an administrator's decision. True when this call
    confirmed it."""
    done = session.execute(
        update(SubscriberRow)
        .where(SubscriberRow.id == subscriber_id, SubscriberRow.confirmed_at.is_(None),
               SubscriberRow.deactivated_by.is_(None),
               SubscriberRow.confirmation_sent_at == sent_at)
        .values(confirmed_at=now, active=True, unsubscribed_at=None, confirmation_sent_at=None)
        .returning(SubscriberRow.id)
        .execution_options(synchronize_session=False)).first()
    return done is not None


def list_all(session: Session) -> list[SubscriberRow]:
    return list(session.scalars(select(SubscriberRow).order_by(SubscriberRow.email)))


def sync_global_webhook(session: Session, url: str | None, scope: str, now: datetime) -> None:
    """Keep the global chat channel's subscriber row in step with the settings: created or
    updated while CALENDAR_WEBHOOK_URL is set (every category, the catalogue's lead times,
    webhook only), deactivated when it is unset. Safe when two schedulers tick at once."""
    row = session.scalar(select(SubscriberRow).where(SubscriberRow.email == GLOBAL_WEBHOOK_EMAIL))
    if url is None:
        if row is not None and row.active:
            row.active = False
        return
    if row is None:
        dialect = session.connection().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(SubscriberRow.__table__).values(
            email=GLOBAL_WEBHOOK_EMAIL, name="Kênh chat chung", scope=scope,
            webhook_url=url, email_enabled=False, active=True, created_at=now,
            confirmed_at=now).on_conflict_do_nothing(index_elements=["email"]))
        return
    if (row.webhook_url, row.scope, row.active, row.email_enabled) != (url, scope, True, False):
        row.webhook_url, row.scope, row.active, row.email_enabled = url, scope, True, False
        row.confirmed_at = row.confirmed_at or now
        row.unsubscribed_at = None
