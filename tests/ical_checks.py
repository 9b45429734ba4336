"""Checks every feed the suite produces must pass: two independent parsers and the bytes."""

from __future__ import annotations

from contextlib import contextmanager

import vobject
from icalendar import Alarm, Calendar, Event
from icalendar.cal.component import Component


@contextmanager
def strict():
    """icalendar swallows parse errors by default (ignore_exceptions); make them raise."""
    classes = (Component, Calendar, Event, Alarm)
    saved = [c.__dict__.get("ignore_exceptions") for c in classes]
    for c in classes:
        c.ignore_exceptions = False
    try:
        yield
    finally:
        for c, value in zip(classes, saved):
            if value is None:
                del c.ignore_exceptions
            else:
                c.ignore_exceptions = value


def check_feed(data: bytes) -> Calendar:
    # 1. icalendar, strict: no exception swallowed, required properties present, no errors.
    with strict():
        cal = Calendar.from_ical(data)
    assert not cal.errors, cal.errors
    for component in cal.walk():
        assert not component.errors, (component.name, component.errors)
        for prop in component.required:
            assert prop in component, f"{component.name} lacks {prop}"
    # 2. vobject, an independent parser, with validation.
    parsed = vobject.readOne(data.decode("utf-8"))
    parsed.validate()
    # 3. The bytes: CRLF only, no content line longer than 75 octets.
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    too_long = [line for line in lines if len(line) > 75]
    assert not too_long, too_long[:3]
    # 4. Events: all-day, DTEND after DTSTART, unique UIDs.
    uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
    assert len(uids) == len(set(uids))
    for event in cal.walk("VEVENT"):
        assert event["DTEND"].dt > event["DTSTART"].dt
        assert "VALUE=DATE" in event.to_ical().decode().replace("\r\n ", "")
    return cal


def events(data: bytes) -> dict[str, object]:
    """VEVENTs by UID."""
    return {str(e["UID"]): e for e in Calendar.from_ical(data).walk("VEVENT")}
