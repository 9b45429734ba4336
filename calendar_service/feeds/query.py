"""What a feed request asks for: parsed and validated once, then a hashable cache key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from ..anniversaries import Occurrence
from ..catalogue import CATEGORIES

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
MIN_YEAR, MAX_YEAR = 1900, 2200
MAX_ALARM_DAYS = 365


class FeedQueryError(ValueError):
    """A malformed parameter; the message is shown to the client (HTTP 400)."""


def _flag(args: Mapping[str, str], name: str) -> bool:
    raw = args.get(name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise FeedQueryError(f"{name}={raw!r}: dùng 1 hoặc 0 (use 1 or 0)")


@dataclass(frozen=True, slots=True)
class FeedQuery:
    categories: tuple[str, ...] = ()
    year: int | None = None
    designated: bool = False
    round_only: bool = False
    alarm_days: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> FeedQuery:
        categories: list[str] = []
        for raw in args.get("category", "").split(","):
            slug = raw.strip()
            if not slug:
                continue
            if slug not in CATEGORIES:
                raise FeedQueryError(
                    f"category={slug!r}: không có nhóm này (unknown category); "
                    f"các nhóm: {', '.join(sorted(CATEGORIES))}")
            categories.append(slug)
        year = None
        if args.get("year") not in (None, ""):
            raw = args["year"]
            if not raw.strip().isdigit() or not MIN_YEAR <= int(raw) <= MAX_YEAR:
                raise FeedQueryError(
                    f"year={raw!r}: cần một năm từ {MIN_YEAR} đến {MAX_YEAR} (a year is needed)")
            year = int(raw)
        alarm = None
        if args.get("alarm") not in (None, ""):
            raw = args["alarm"]
            if not raw.strip().isdigit() or int(raw) > MAX_ALARM_DAYS:
                raise FeedQueryError(
                    f"alarm={raw!r}: cần số ngày từ 0 đến {MAX_ALARM_DAYS} (days before)")
            alarm = int(raw)
        return cls(
            categories=tuple(sorted(set(categories))),
            year=year,
            designated=_flag(args, "designated"),
            round_only=_flag(args, "round"),
            alarm_days=alarm,
        )

    def window(self, today: date, past_days: int, future_days: int) -> tuple[date, date]:
        if self.year is not None:
            return date(self.year, 1, 1), date(self.year, 12, 31)
        return today - timedelta(days=past_days), today + timedelta(days=future_days)

    def accepts(self, occ: Occurrence) -> bool:
        if self.categories and occ.commemoration.category not in self.categories:
            return False
        if self.designated and not occ.designated:
            return False
        if self.round_only and not occ.is_round:
            return False
        return True

    def slug(self) -> str:
        """A stable name for this selection: calendar UID and download file name."""
        parts = ["lich-ky-niem", *self.categories]
        if self.year is not None:
            parts.append(str(self.year))
        if self.designated:
            parts.append("theo-chi-thi")
        if self.round_only:
            parts.append("nam-tron")
        if self.alarm_days is not None:
            parts.append(f"nhac-{self.alarm_days}")
        return "-".join(parts)
