"""An agency's private calendar of its task due dates, every byte written by `icalendar`.

One all-day VEVENT per task with a due day, SUMMARY "Hạn: <task title>", UID
`task-<id>@host` (stable across requests, restarts and machines), SEQUENCE = the task's
revision (every change a calendar should see raises it), DTSTAMP and LAST-MODIFIED = the
task's `updated_at` — never "now" — so unchanged data gives unchanged bytes. A cancelled
task stays in the feed as STATUS:CANCELLED so subscribed calendars drop it; a task whose
due day is still to be decided is no event (no invented day): the calendar's DESCRIPTION
lists it. The window: the tasks of last year, this year and next year (by the service's
clock), so the file stays small however many years the store holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vDuration, vText

from ..catalogue import ACTIVITY_KINDS
from ..store.models import AgencyRow
from ..vietnamese import nfc, official_date
from .models import CANCELLED, STATUSES, TaskRow

PRODID = "-//calendar-service//Han viec co quan//VI"
CONTENT_TYPE = "text/calendar; charset=utf-8"
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def address(base_url: str, agency: AgencyRow) -> str:
    """The feed's secret address (what `agencies feed-url` prints)."""
    return f"{base_url}/agencies/{agency.id}/{agency.feed_token}/tasks.ics"


def window(today: date) -> tuple[int, int]:
    """The years whose tasks the feed holds: last year to next year."""
    return today.year - 1, today.year + 1


@dataclass(frozen=True, slots=True)
class FeedSite:
    base_url: str
    timezone: str
    refresh: timedelta

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"

    def task_url(self, ident: int) -> str:
        return f"{self.base_url}/admin/tasks/{ident}"


def uid(task: TaskRow, host: str) -> str:
    return f"task-{task.id}@{host}"


def description(task: TaskRow, names: dict[str, str], site: FeedSite) -> str:
    lines = [f"Cơ quan chủ trì: {names.get(task.agency_id, task.agency_id)}"]
    if task.coordinating:
        lines.append("Phối hợp: " + ", ".join(names.get(a, a) for a in task.coordinating))
    lines.append(f"Loại việc: {ACTIVITY_KINDS.get(task.kind, task.kind)}")
    if task.window_from and task.window_to:
        lines.append(f"Thực hiện: từ {official_date(task.window_from)} "
                     f"đến {official_date(task.window_to)}")
    lines.append(f"Trạng thái: {STATUSES.get(task.status, task.status)}")
    if task.links:
        lines.append("Kết quả:\n" + "\n".join(f"- {url}" for url in task.links))
    if task.note:
        lines.append(f"Ghi chú: {task.note}")
    lines.append(f"Chi tiết: {site.task_url(task.id)}")
    return nfc("\n".join(lines))


def event(task: TaskRow, names: dict[str, str], site: FeedSite) -> Event:
    assert task.due_on is not None, "a task without a due day is not an event"
    e = Event()
    e.add("uid", uid(task, site.host))
    e.add("dtstamp", task.updated_at)
    e.add("last-modified", task.updated_at)
    e.add("dtstart", task.due_on)
    e.add("dtend", task.due_on + timedelta(days=1))  # all-day: DTEND is exclusive
    e.add("summary", nfc(f"Hạn: {task.title}"))
    e.add("description", description(task, names, site))
    e.add("url", site.task_url(task.id))
    e.add("categories", [ACTIVITY_KINDS.get(task.kind, task.kind)])
    e.add("transp", "TRANSPARENT")  # a due day makes nobody busy
    e.add("sequence", task.revision)
    e.add("status", "CANCELLED" if task.status == CANCELLED else "CONFIRMED")
    return e


def ordered(tasks: Sequence[TaskRow]) -> list[TaskRow]:
    """Due day, then id: the same order on every build."""
    return sorted(tasks, key=lambda t: (t.due_on is None, t.due_on or date.max, t.id))


def build(agency: AgencyRow, tasks: Sequence[TaskRow], names: dict[str, str],
          site: FeedSite, years: tuple[int, int]) -> bytes:
    """The calendar of `agency`'s tasks (already selected: the agency's, in `years`)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("uid", f"agency-{agency.id}-tasks@{site.host}")
    name = nfc(f"Hạn việc — {agency.short}")
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    tasks = ordered(tasks)
    text = (f"Hạn các việc của {agency.name} trong kế hoạch tuyên truyền các ngày kỷ niệm, "
            f"năm {years[0]}–{years[1]}. Địa chỉ riêng của cơ quan: không chia sẻ.")
    undecided = [t for t in tasks if t.due_on is None and t.status != CANCELLED]
    if undecided:
        text += "\n\nChưa định hạn (chưa có trong lịch):\n" + "\n".join(
            f"- {t.title} (năm {t.year})" for t in sorted(undecided, key=lambda t: (t.year,
                                                                                    t.id)))
    text = nfc(text)
    cal.add("description", text)
    cal.add("x-wr-caldesc", vText(text))  # x-properties are not escaped unless typed
    cal.add("x-wr-timezone", site.timezone)
    cal.add("refresh-interval", site.refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(site.refresh))
    for task in tasks:
        if task.due_on is not None:
            cal.add_component(event(task, names, site))
    return cal.to_ical()


def etag(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def last_modified(agency: AgencyRow, tasks: Sequence[TaskRow]) -> datetime:
    return max((t.updated_at for t in tasks), default=agency.updated_at or EPOCH)
