"""The audit log: every change made in the admin area or to a task, who made it and when.

Below the features, so that every feature that changes something records it the same way.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from .models import Base, UTCDateTime

Changes = dict[str, dict[str, Any]]


class AuditEntry(Base):
    """Who changed what, when. Plain columns, no foreign keys: the record outlives what it
    describes and is never rewritten."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    commemoration_id: Mapped[str | None] = mapped_column(String(80))
    subject: Mapped[str | None] = mapped_column(String(320))  # e.g. a subscriber's address
    # {field: {"before": value, "after": value}}
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    __table_args__ = (Index("ix_audit_log_commemoration_id", "commemoration_id"),)


ACTION_LABELS = {
    "edit": "Sửa nội dung",
    "cancel": "Hủy ngày kỷ niệm",
    "restore": "Khôi phục",
    "observance": "Ngày tổ chức",
    "subscriber-add": "Thêm người nhận",
    "subscriber-deactivate": "Ngừng gửi",
    "subscriber-reactivate": "Kích hoạt lại",
    "subscriber-confirm": "Xác nhận đăng ký (qua liên kết)",
    "send-now": "Gửi nhắc lịch ngay",
    "task-update": "Cập nhật việc",
    "task-add": "Thêm việc",
    "task-remove": "Xóa việc",
    "task-plan": "Theo kế hoạch mẫu",
    "task-follow": "Theo ngày kỷ niệm",
    "task-cancel": "Hủy việc",
}
FIELD_LABELS = {
    "title": "Tên", "description": "Mô tả", "location": "Địa điểm", "note": "Ghi chú",
    "lead_days": "Nhắc trước (ngày)", "status": "Trạng thái", "active": "Đang nhận thư",
    "name": "Họ tên", "organisation": "Cơ quan", "categories": "Nhóm", "scope": "Phạm vi",
    "sent": "Đã gửi", "skipped": "Bỏ qua", "retrying": "Chờ gửi lại", "failed": "Lỗi",
    "links": "Liên kết kết quả", "kind": "Loại việc", "agency": "Cơ quan chủ trì",
    "coordinating": "Cơ quan phối hợp", "due_on": "Hạn", "due_offset": "Hạn (ngày so với lễ)",
    "window_from": "Thực hiện từ", "window_to": "Thực hiện đến",
    "window_offsets": "Khoảng thực hiện (ngày so với lễ)", "notice_days": "Báo trước (ngày)",
}
_OBSERVANCE = re.compile(r"^observed_on\[(\d+)\]$")


def field_label(name: str) -> str:
    if match := _OBSERVANCE.match(name):
        return f"Ngày tổ chức năm {match.group(1)}"
    return FIELD_LABELS.get(name, name)


def _plain(value: Any) -> Any:
    """JSON-friendly values (dates as ISO text, tuples as lists)."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> Changes:
    """{field: {"before": …, "after": …}} for the fields whose value differs."""
    return {name: {"before": _plain(before.get(name)), "after": _plain(after.get(name))}
            for name in after if _plain(before.get(name)) != _plain(after.get(name))}


def record(session: Session, *, who: str, action: str, at: datetime, changes: Changes,
           commemoration_id: str | None = None, subject: str | None = None) -> AuditEntry:
    entry = AuditEntry(at=at, username=who, action=action, commemoration_id=commemoration_id,
                       subject=subject, changes=changes)
    session.add(entry)
    return entry


def page(session: Session, number: int, per_page: int) -> tuple[list[AuditEntry], int]:
    """Newest first; (entries of that page, total entries)."""
    total = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.at.desc(),
                                                          AuditEntry.id.desc())
                              .offset((number - 1) * per_page).limit(per_page))
    return list(entries), total
