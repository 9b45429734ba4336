"""Where "now" comes from. Code deep inside never calls date.today(): it is handed a clock
(or an explicit as_of), so tests and operators can replay any moment."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: tzinfo

    def now(self) -> datetime: ...


class SystemClock:
    def __init__(self, tz: tzinfo | str = "Asia/Ho_Chi_Minh") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def now(self) -> datetime:
        return datetime.now(self.tz)


class FixedClock:
    """Always the same moment; a naive datetime is read in the clock's timezone."""

    def __init__(self, at: datetime, tz: tzinfo | str = "Asia/Ho_Chi_Minh") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self.at = at if at.tzinfo else at.replace(tzinfo=self.tz)

    def now(self) -> datetime:
        return self.at.astimezone(self.tz)


def today(clock: Clock) -> date:
    """The local calendar day, in the clock's timezone (not the server's)."""
    return clock.now().astimezone(clock.tz).date()
