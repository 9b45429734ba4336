"""The iCalendar bytes, every one of them written by the `icalendar` library.

The output depends only on the store's rows and the requested window — never on "now" — so
two builds of the same data give the same bytes (and so the same ETag), on any machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

from icalendar import Alarm, Calendar, Event, vDuration, vText

from ..anniversaries import Occurrence
from ..catalogue import CATEGORIES
from ..catalogue.model import Rename
from ..catalogue.renames import with_today_name
from ..store.queries import StoredCommemoration
from ..vietnamese import long_date, nfc, official_date
from .query import FeedQuery

PRODID = "-//calendar-service//Lich ky niem//VI"
CALENDAR_NAME = "Lịch kỷ niệm"
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)

Item = tuple[Occurrence, StoredCommemoration]


@dataclass(frozen=True, slots=True)
class FeedSite:
    base_url: str
    timezone: str
    refresh: timedelta = timedelta(hours=6)
    # Renamed places (`[[rename]]`): a location shows today's name as of the occurrence's
    # day, so the bytes still depend on the data alone, never on "now".
    renames: tuple[Rename, ...] = ()

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or "localhost"

    def event_url(self, ident: str) -> str:
        return f"{self.base_url}/events/{ident}"

    @classmethod
    def from_settings(cls, settings) -> FeedSite:
        return cls(settings.base_url, settings.timezone, settings.feed_refresh)

    @classmethod
    def of(cls, services) -> FeedSite:
        """From the settings, with the store's renames."""
        settings = services.settings
        return cls(settings.base_url, settings.timezone, settings.feed_refresh,
                   services.renames.all())

    def location(self, occ: Occurrence) -> str | None:
        return with_today_name(occ.commemoration.location, self.renames,
                               occ.date or date(occ.year, 12, 31))


def uid_for(occ: Occurrence, host: str) -> str:
    """dien-bien-phu-1954-05-07.2024@host: the commemoration, its origin and the year."""
    c = occ.commemoration
    # A lunar origin: tet-nguyen-dan-L01-01.2026@host (the lunar year).
    return f"{c.id}-{c.origin_key}.{occ.year}@{host}"


def summary(occ: Occurrence) -> str:
    """Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ (07/5/1954 – 07/5/2024); a lunar origin
    names its lunar day: Giỗ Tổ Hùng Vương (10/3 âm lịch)."""
    c = occ.commemoration
    if c.lunar is not None:
        lunar = occ.lunar_label or c.lunar.label
        if c.origin_year is None:
            return nfc(f"{occ.title} ({lunar})")
        return nfc(f"{occ.title} ({c.origin_year} – {occ.year}, {lunar})")
    if c.origin is not None and occ.date is not None and not occ.observed:
        span = f"{official_date(c.origin)} – {official_date(occ.date)}"
    else:
        span = f"{c.origin_year} – {occ.year}"
    return nfc(f"{occ.title} ({span})")


def description(occ: Occurrence, site: FeedSite) -> str:
    c = occ.commemoration
    parts = [c.description]
    if c.lunar is not None and occ.date is not None:
        parts.append(f"Ngày {long_date(occ.date)} ({occ.lunar_label}); mốc: "
                     f"{c.lunar_origin_label}.")
        if occ.shifted:
            parts.append(f"Năm nay không có ngày {c.lunar.label}: kỷ niệm vào ngày gần nhất "
                         "có trong tháng.")
    elif occ.observed and occ.date is not None:
        parts.append(f"Ngày tổ chức kỷ niệm năm {occ.year}: {official_date(occ.date)} "
                     f"(ngày sinh/ngày sự kiện chỉ biết năm {c.origin_year}).")
    if occ.shifted and c.lunar is None:
        parts.append("Sự kiện ngày 29/02: năm không nhuận kỷ niệm vào ngày 28/02.")
    for d in occ.designated_by:
        count = f" (kỷ niệm {d.ordinal} năm)" if d.ordinal is not None else ""
        parts.append(f"Theo chỉ thị: {d.text}{count}.")
    parts.append(f"Nguồn: {c.source}.")
    if c.note:
        parts.append(f"Ghi chú: {c.note}")
    parts.append(f"Chi tiết: {site.event_url(c.id)}")
    return nfc("\n\n".join(parts))


def categories(occ: Occurrence) -> list[str]:
    labels = [occ.commemoration.category_info.label]
    if occ.designated:
        labels.append("Theo chỉ thị")
        # Which directive: one category per directive, so a calendar app can filter on it.
        labels += [d.label for d in occ.designated_by]
    if occ.round_rank == 2:
        labels.append("Năm tròn")
    elif occ.round_rank == 1:
        labels.append("Năm chẵn")
    return labels


def event_component(occ: Occurrence, stored: StoredCommemoration, site: FeedSite,
                    alarm_days: int | None = None) -> Event:
    assert occ.date is not None, "undated occurrences are not events"
    c = occ.commemoration
    event = Event()
    event.add("uid", uid_for(occ, site.host))
    event.add("dtstamp", stored.updated_at)
    event.add("last-modified", stored.updated_at)
    event.add("dtstart", occ.date)
    event.add("dtend", occ.date + timedelta(days=1))  # all-day: DTEND is exclusive
    event.add("summary", summary(occ))
    event.add("description", description(occ, site))
    event.add("url", site.event_url(c.id))
    event.add("categories", categories(occ))
    if c.location:
        event.add("location", nfc(site.location(occ)))
    if occ.designated:
        event.add("x-designated-by", ",".join(d.directive for d in occ.designated_by))
    event.add("transp", "TRANSPARENT")  # a commemoration makes nobody busy
    event.add("sequence", stored.revision)
    event.add("status", "CANCELLED" if stored.cancelled else "CONFIRMED")
    event.add("class", "PUBLIC")
    if alarm_days is not None and not stored.cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", -timedelta(days=alarm_days))
        alarm.add("description", summary(occ))
        event.add_component(alarm)
    return event


def calendar_name(query: FeedQuery) -> str:
    qualifiers = [CATEGORIES[c].label for c in query.categories]
    if query.designated:
        qualifiers.append("theo chỉ thị")
    if query.round_only:
        qualifiers.append("năm tròn, năm chẵn")
    if query.notable:
        qualifiers.append("theo chỉ thị hoặc năm tròn, năm chẵn")
    if query.year is not None:
        qualifiers.append(f"năm {query.year}")
    return CALENDAR_NAME + (f" — {', '.join(qualifiers)}" if qualifiers else "")


def calendar_description(undecided: Sequence[Occurrence], window: tuple[date, date]) -> str:
    text = ("Các ngày kỷ niệm theo chỉ thị của tỉnh và các dịp kỷ niệm hằng năm, "
            f"từ {official_date(window[0])} đến {official_date(window[1])}.")
    if undecided:
        lines = [f"- {o.title} (năm {o.year})" for o in undecided]
        text += "\n\nChưa xác định ngày (chưa có trong lịch):\n" + "\n".join(lines)
    return nfc(text)


def event_bytes(occ: Occurrence, stored: StoredCommemoration, site: FeedSite,
                alarm_days: int | None = None) -> bytes:
    """One VEVENT as it appears inside a calendar (a calendar's bytes are its header, its
    events' bytes one after the other, then END:VCALENDAR)."""
    return event_component(occ, stored, site, alarm_days).to_ical()


EventBytes = Callable[[Occurrence, StoredCommemoration, FeedSite, "int | None"], bytes]
END = b"END:VCALENDAR\r\n"


def build_calendar(items: Sequence[Item], query: FeedQuery, site: FeedSite,
                   window: tuple[date, date], event: EventBytes = event_bytes) -> bytes:
    """`event` gives each VEVENT's bytes: `event_bytes`, or a cache of them (service.py), so
    that a selection is a concatenation of events already rendered."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("uid", f"{query.slug()}@{site.host}")
    name = calendar_name(query)
    cal.add("name", name)
    cal.add("x-wr-calname", name)
    undecided = [o for o, s in items if o.date is None and not s.cancelled]
    text = calendar_description(undecided, window)
    cal.add("description", text)
    cal.add("x-wr-caldesc", vText(text))  # x-properties are not escaped unless typed
    cal.add("x-wr-timezone", site.timezone)
    cal.add("refresh-interval", site.refresh, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", vDuration(site.refresh))
    header = cal.to_ical()
    assert header.endswith(END)
    parts = [header[:-len(END)]]
    parts.extend(event(occ, stored, site, query.alarm_days)
                 for occ, stored in items if occ.date is not None)
    parts.append(END)
    return b"".join(parts)


def occurrence_calendar(occ: Occurrence, stored: StoredCommemoration, site: FeedSite,
                        event: EventBytes = event_bytes) -> bytes:
    """One occurrence as a calendar: "add to my calendar" and the e-mail attachment."""
    assert occ.date is not None
    return build_calendar([(occ, stored)], FeedQuery(year=occ.year), site, (occ.date, occ.date),
                          event)


def last_modified(items: Sequence[Item]) -> datetime:
    return max((s.updated_at for _, s in items), default=EPOCH)
