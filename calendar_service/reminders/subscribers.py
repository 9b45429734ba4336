"""Managing subscribers: validated input, no duplicates, nothing half-written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..catalogue import CATEGORIES
from ..catalogue.model import CONTROL_IN_LINE, MAX_LEAD_DAYS
from .models import GLOBAL_WEBHOOK_EMAIL, SCOPE_NOTABLE, SCOPES, SubscriberRow


class SubscriberError(ValueError):
    """Bad subscriber input; the message says which field and why."""


def normalise_email(address: str) -> str:
    """A deliverable-looking address, lower-cased domain; raises SubscriberError.

    A domain may be internationalised (it is sent as IDNA, see delivery/channels/email.py ascii_email); the part
    before the @ may not, as that would need SMTPUTF8, which many mail servers lack."""
    try:
        # No DNS look-up: the service may run on a closed network.
        result = validate_email(address.strip(), check_deliverability=False,
                                allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise SubscriberError(f"địa chỉ e-mail không hợp lệ {address!r}: {exc}") from None
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
    """Keep the row (and its history), stop sending."""
    if row.active:
        row.active = False
        row.unsubscribed_at = now


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
