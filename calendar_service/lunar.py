"""The Vietnamese lunar calendar (âm lịch): lunar dates to solar dates and back, at UTC+7.

The algorithm is Hồ Ngọc Đức's ("Thuật toán tính âm lịch", 2004), which takes the new moons
and the sun's longitude from Jean Meeus, "Astronomical Algorithms" (1998, chapters 47 and 25,
abridged): a lunar month starts on the day (at UTC+7) of a new moon; month 11 is the one that
holds the winter solstice; a year with 13 months between two months 11 repeats the first month
without a major solar term (trung khí) as the leap month. Computing at UTC+7 is what makes it
the Vietnamese calendar and not the Chinese one (UTC+8): when a new moon falls between 16:00
and 17:00 UTC the two calendars start the month on different days — Tết 1985 was 21/01 in
Vietnam and 20/02 in China, Tết 2007 17/02 and 18/02.

Why not a library (docs/lunar.md has the comparison): `lunarcalendar`, `lunardate` and
`lunar-python` compute the Chinese calendar; python-holidays keeps precomputed tables of a few
holidays only; `lunar-vn` implements this same algorithm but refuses years after 2100 (the
service's years run to 2200) and accepts day 30 of a 29-day month without a word. The tests
check this module against both python-holidays and lunar-vn.

Pure: no I/O, no clock. Each lunar year is computed once into a table of its months
(`lunar_year`), so a conversion is a lookup.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

TIMEZONE_HOURS = 7.0  # Vietnam's legal time since 1975 (and the calendar's reference meridian)

# The years this module answers for: the service's own range (1900–2200) with room on both
# sides; the approximations (ΔT, the abridged series) are not meant for far beyond.
FIRST_YEAR = 1800
LAST_YEAR = 2300

_JD_OF_ORDINAL = 1721425  # Julian Day Number of date.fromordinal(1) minus one
_SYNODIC_MONTH = 29.530588853
_EPOCH_NEW_MOON = 2415021.076998695  # the new moon of 1 January 1900, Julian Day


@dataclass(frozen=True, slots=True, order=True)
class LunarDate:
    """A day of the lunar calendar: 10/3 of the lunar year 2026; `leap` for a leap month."""

    year: int
    month: int
    day: int
    leap: bool = False


@dataclass(frozen=True, slots=True)
class LunarMonth:
    """One month of a lunar year: its number, whether it is the leap month, its first solar
    day and its length (29 or 30 days)."""

    month: int
    leap: bool
    start: date
    length: int

    @property
    def end(self) -> date:
        return self.start + timedelta(days=self.length - 1)


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"lunar year {year} is outside {FIRST_YEAR}–{LAST_YEAR}")


def _jd(d: date) -> int:
    return d.toordinal() + _JD_OF_ORDINAL


def _from_jd(jd: int) -> date:
    return date.fromordinal(jd - _JD_OF_ORDINAL)


def _new_moon_day(k: int) -> int:
    """Julian Day Number, at UTC+7, of the k-th new moon after 1 January 1900 (Meeus ch. 47,
    abridged as in Hồ Ngọc Đức's program)."""
    t = k / 1236.85
    t2 = t * t
    t3 = t2 * t
    dr = math.pi / 180
    jd1 = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    jd1 += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * dr)
    m = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3  # sun's mean anomaly
    mpr = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3  # moon's
    f = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3  # moon's latitude arg.
    c1 = (0.1734 - 0.000393 * t) * math.sin(m * dr) + 0.0021 * math.sin(2 * dr * m)
    c1 = c1 - 0.4068 * math.sin(mpr * dr) + 0.0161 * math.sin(dr * 2 * mpr)
    c1 = c1 - 0.0004 * math.sin(dr * 3 * mpr)
    c1 = c1 + 0.0104 * math.sin(dr * 2 * f) - 0.0051 * math.sin(dr * (m + mpr))
    c1 = c1 - 0.0074 * math.sin(dr * (m - mpr)) + 0.0004 * math.sin(dr * (2 * f + m))
    c1 = c1 - 0.0004 * math.sin(dr * (2 * f - m)) - 0.0006 * math.sin(dr * (2 * f + mpr))
    c1 = c1 + 0.0010 * math.sin(dr * (2 * f - mpr)) + 0.0005 * math.sin(dr * (2 * mpr + m))
    if t < -11:
        delta_t = (0.001 + 0.000839 * t + 0.0002261 * t2 - 0.00000845 * t3
                   - 0.000000081 * t * t3)
    else:
        delta_t = -0.000278 + 0.000265 * t + 0.000262 * t2
    jd_new = jd1 + c1 - delta_t
    return math.floor(jd_new + 0.5 + TIMEZONE_HOURS / 24)


def _sun_sector(jdn: int) -> int:
    """Which 30° sector (0–11) the sun's apparent longitude is in at local midnight starting
    day `jdn` (Meeus ch. 25, low accuracy): a major solar term begins each sector."""
    t = (jdn - 2451545.5 - TIMEZONE_HOURS / 24) / 36525
    t2 = t * t
    dr = math.pi / 180
    m = 357.52910 + 35999.05030 * t - 0.0001559 * t2 - 0.00000048 * t * t2
    l0 = 280.46645 + 36000.76983 * t + 0.0003032 * t2
    dl = (1.914600 - 0.004817 * t - 0.000014 * t2) * math.sin(dr * m)
    dl += (0.019993 - 0.000101 * t) * math.sin(dr * 2 * m) + 0.000290 * math.sin(dr * 3 * m)
    longitude = (l0 + dl) * dr
    longitude -= 2 * math.pi * math.floor(longitude / (2 * math.pi))
    return math.floor(longitude / math.pi * 6)


@lru_cache(maxsize=1024)
def _month11(year: int) -> int:
    """Julian Day of the first day of lunar month 11 (the month of the winter solstice)
    that begins in solar year `year`'s last months."""
    off = _jd(date(year, 12, 31)) - 2415021
    k = math.floor(off / _SYNODIC_MONTH)
    nm = _new_moon_day(k)
    if _sun_sector(nm) >= 9:  # the solstice (270°) is not yet passed: the month before
        nm = _new_moon_day(k - 1)
    return nm


@lru_cache(maxsize=1024)
def _months_after_11(year: int) -> tuple[tuple[int, bool, int], ...]:
    """(number, leap, first Julian Day) of the months from month 11 of solar year `year` − 1
    up to, not including, month 11 of `year`: 12 months, or 13 with a leap month — the
    first month, after month 11, whose span holds no major solar term."""
    a11, b11 = _month11(year - 1), _month11(year)
    k = math.floor(0.5 + (a11 - _EPOCH_NEW_MOON) / _SYNODIC_MONTH)
    count = round((b11 - a11) / _SYNODIC_MONTH)
    leap_at = None
    if count == 13:
        i = 1
        sector = _sun_sector(_new_moon_day(k + i))
        while i < 14:
            previous = sector
            i += 1
            sector = _sun_sector(_new_moon_day(k + i))
            if sector == previous:
                break
        leap_at = i - 1
    months: list[tuple[int, bool, int]] = []
    number = 11
    for i in range(count):
        start = _new_moon_day(k + i) if i else a11
        if i == leap_at:
            months.append((months[-1][0], True, start))
        else:
            months.append((number, False, start))
            number = number % 12 + 1
    return tuple(months)


@lru_cache(maxsize=1024)
def lunar_year(year: int) -> tuple[LunarMonth, ...]:
    """The months of lunar year `year`, from Tết (1/1) to the eve of the next Tết: 12 months,
    or 13 in a leap year."""
    _check_year(year)
    this, following = _months_after_11(year), _months_after_11(year + 1)
    first = next(i for i, (number, _, _) in enumerate(this) if number == 1)
    last = next(i for i, (number, _, _) in enumerate(following) if number == 1)
    chain = [*this[first:], *following[:last]]
    next_tet = following[last][2]
    starts = [start for _, _, start in chain] + [next_tet]
    return tuple(LunarMonth(month=number, leap=leap, start=_from_jd(start),
                            length=starts[i + 1] - start)
                 for i, (number, leap, start) in enumerate(chain))


def tet(year: int) -> date:
    """Tết Nguyên đán, 1/1 of lunar year `year`."""
    return lunar_year(year)[0].start


def leap_month(year: int) -> int | None:
    """The number of lunar year `year`'s leap month, or None in a 12-month year."""
    for month in lunar_year(year):
        if month.leap:
            return month.month
    return None


def find_month(year: int, month: int, leap: bool = False) -> LunarMonth | None:
    """Month `month` (the leap one with `leap`) of lunar year `year`, or None when the year
    has no such month (a leap month in another position, or none)."""
    if not 1 <= month <= 12:
        raise ValueError(f"lunar month must be 1–12, got {month}")
    for found in lunar_year(year):
        if found.month == month and found.leap == leap:
            return found
    return None


def to_solar(year: int, month: int, day: int, leap: bool = False) -> date:
    """The solar date of a lunar date that exists; ValueError for one that does not (day 30
    of a 29-day month, a leap month the year lacks). The engine's rule for those lives in
    `anniversaries.lunar_anniversary`."""
    found = find_month(year, month, leap)
    if found is None:
        raise ValueError(f"lunar year {year} has no leap month {month}")
    if not 1 <= day <= found.length:
        raise ValueError(f"lunar month {month}{' (leap)' if leap else ''} of {year} has "
                         f"{found.length} days, not {day}")
    return found.start + timedelta(days=day - 1)


def from_solar(d: date) -> LunarDate:
    """The lunar date of a solar day (at UTC+7)."""
    year = d.year if d >= tet(d.year) else d.year - 1
    months = lunar_year(year)
    i = bisect_right([m.start for m in months], d) - 1
    found = months[i]
    return LunarDate(year, found.month, (d - found.start).days + 1, found.leap)
