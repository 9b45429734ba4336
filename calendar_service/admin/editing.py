"""Changes an administrator makes to a commemoration.

Each saved change gives the row a new revision and `updated_at` (the feed's SEQUENCE and
LAST-MODIFIED), bumps the store's data version (caches and the reminder planner see it at
once) and writes an audit entry — all in the caller's transaction.

The row's `fingerprint` is left alone on purpose: it is the hash of the catalogue entry the
row was last loaded from, so reloading the unchanged file keeps these edits, while a file
whose entry changed overwrites them (see store/sync.py).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalogue.model import CONTROL_IN_LINE, CONTROL_IN_PROSE, MAX_LEAD_DAYS, ordinal
from ..store import audit
from ..store.models import ACTIVE, CANCELLED, CommemorationRow, ObservanceRow
from ..store.state import bump_data_version
from ..vietnamese import nfc

MAX_OBSERVANCE_YEAR = 2200
_LINE_BREAKS = re.compile(r"\r\n?")
_DAYS = re.compile(r"[0-9]+")
MAX_LEAD_DAYS_TEXT = 200


class EditError(ValueError):
    """A value an administrator typed is not acceptable; the message says why (Vietnamese)."""


class EditConflict(Exception):
    """The commemoration changed since the form was shown (another admin, or a load)."""


def clean_text(value: str | None, label: str, *, required: bool = False,
               one_line: bool = False, limit: int = 5000) -> str | None:
    """Stripped, NFC, with Unix line breaks: exactly what the catalogue loader would keep."""
    value = nfc(_LINE_BREAKS.sub("\n", value or "").strip())
    if not value:
        if required:
            raise EditError(f"{label}: không được để trống.")
        return None
    if (CONTROL_IN_LINE if one_line else CONTROL_IN_PROSE).search(value):
        raise EditError(f"{label}: không được chứa xuống dòng hoặc ký tự điều khiển."
                        if one_line else f"{label}: không được chứa ký tự điều khiển.")
    if len(value) > limit:
        raise EditError(f"{label}: tối đa {limit} ký tự.")
    return value


def parse_lead_days(text: str | None) -> list[int] | None:
    """'30, 7, 1' → [30, 7, 1]; empty → None (the category's defaults). Same rules as the
    catalogue: whole days from 1 to 366, no repeats; ASCII digits only ("²".isdigit() is
    true, int("²") fails), at most a few of them before int() reads them."""
    text = text or ""
    if len(text) > MAX_LEAD_DAYS_TEXT:
        raise EditError(f"Số ngày nhắc trước: tối đa {MAX_LEAD_DAYS_TEXT} ký tự.")
    parts = [p.strip() for p in text.split(",")]
    if not any(parts):
        return None
    if not all(_DAYS.fullmatch(p) for p in parts):
        raise EditError("Số ngày nhắc trước: ghi các số nguyên cách nhau bằng dấu phẩy, "
                        "ví dụ 30, 7, 1.")
    if bad := [p for p in parts if len(p) > 4 or not 1 <= int(p) <= MAX_LEAD_DAYS]:
        raise EditError(f"Số ngày nhắc trước phải từ 1 đến {MAX_LEAD_DAYS}; không hợp lệ: "
                        + ", ".join(p if len(p) <= 10 else p[:10] + "…" for p in bad) + ".")
    days = [int(p) for p in parts]
    if len(set(days)) != len(days):
        raise EditError("Số ngày nhắc trước bị lặp: " + ", ".join(str(d) for d in days) + ".")
    return sorted(days, reverse=True)


@dataclass(frozen=True)
class Fields:
    """The editable fields, cleaned."""

    title: str
    description: str
    location: str | None
    note: str | None
    lead_days: list[int] | None

    @classmethod
    def parse(cls, *, title: str | None, description: str | None, location: str | None,
              note: str | None, lead_days: str | None) -> Fields:
        return cls(
            title=clean_text(title, "Tên", required=True, one_line=True, limit=300) or "",
            description=clean_text(description, "Mô tả", required=True) or "",
            location=clean_text(location, "Địa điểm", one_line=True, limit=500),
            note=clean_text(note, "Ghi chú"),
            lead_days=parse_lead_days(lead_days))

    @classmethod
    def of(cls, row: CommemorationRow) -> Fields:
        return cls(row.title, row.description, row.location, row.note,
                   list(row.lead_days) if row.lead_days is not None else None)


def row_for_update(session: Session, ident: str) -> CommemorationRow | None:
    """The row, locked until commit on PostgreSQL, so a concurrent edit or load waits."""
    return session.scalar(select(CommemorationRow).where(CommemorationRow.id == ident)
                          .with_for_update())


def _saved(session: Session, row: CommemorationRow, *, who: str, action: str, now: datetime,
           changes: audit.Changes) -> audit.Changes:
    if changes:
        row.revision += 1
        row.updated_at = now
        bump_data_version(session, now)
        audit.record(session, who=who, action=action, at=now, changes=changes,
                     commemoration_id=row.id)
    return changes


def _check_revision(row: CommemorationRow, expected: int | None) -> None:
    if expected is not None and row.revision != expected:
        raise EditConflict(row.id)


def save_fields(session: Session, row: CommemorationRow, fields: Fields, *, who: str,
                now: datetime, expected_revision: int | None = None) -> audit.Changes:
    """Apply the fields; returns what changed (nothing changed: no new revision)."""
    _check_revision(row, expected_revision)
    before: dict[str, Any] = asdict(Fields.of(row))
    after: dict[str, Any] = asdict(fields)
    changes = audit.diff(before, after)
    for name in changes:
        setattr(row, name, after[name])
    return _saved(session, row, who=who, action="edit", now=now, changes=changes)


def set_cancelled(session: Session, row: CommemorationRow, cancelled: bool, *, who: str,
                  now: datetime) -> audit.Changes:
    """Cancel, or restore what an administrator cancelled. An entry the catalogue file
    removed comes back only through the file: restoring it here would not survive a load."""
    if cancelled == (row.status == CANCELLED):
        return {}
    if not cancelled and not row.cancelled_by_admin:
        raise EditError("Ngày kỷ niệm này đã bị gỡ khỏi tệp danh mục: hãy thêm lại vào tệp "
                        "rồi chạy lệnh load để khôi phục.")
    new_status = CANCELLED if cancelled else ACTIVE
    changes = audit.diff({"status": row.status}, {"status": new_status})
    row.status = new_status
    row.cancelled_by_admin = cancelled
    return _saved(session, row, who=who, action="cancel" if cancelled else "restore", now=now,
                  changes=changes)


def _observance_key(year: int) -> str:
    return f"observed_on[{year}]"


def set_observance(session: Session, row: CommemorationRow, day: date, *, who: str,
                   now: datetime) -> audit.Changes:
    """Choose the day of `day.year`'s ceremony for a commemoration known only to the year."""
    if row.origin_month is not None or row.lunar_month is not None:
        raise EditError("Chỉ đặt ngày tổ chức cho ngày kỷ niệm chỉ biết năm.")
    if ordinal(row.origin_year, day.year) < 1 or day.year > MAX_OBSERVANCE_YEAR:
        raise EditError(f"Năm tổ chức phải sau năm {row.origin_year} và không quá "
                        f"{MAX_OBSERVANCE_YEAR}.")
    current = next((o for o in row.observances if o.year == day.year), None)
    before = current.observed_on if current else None
    changes = audit.diff({_observance_key(day.year): before}, {_observance_key(day.year): day})
    if not changes:
        return {}
    if current is not None:
        current.observed_on = day
    else:
        row.observances.append(ObservanceRow(year=day.year, observed_on=day))
    return _saved(session, row, who=who, action="observance", now=now, changes=changes)


def clear_observance(session: Session, row: CommemorationRow, year: int, *, who: str,
                     now: datetime) -> audit.Changes:
    current = next((o for o in row.observances if o.year == year), None)
    if current is None:
        return {}
    changes = audit.diff({_observance_key(year): current.observed_on},
                         {_observance_key(year): None})
    row.observances.remove(current)
    return _saved(session, row, who=who, action="observance", now=now, changes=changes)
