"""What a feed request asks for: parsed and validated once, then a hashable cache key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from ..anniversaries import Occurrence
from ..catalogue import CATEGORIES
from ..params import FIRST_YEAR, LAST_YEAR, Flag, Integer, ParamError, Params, Slugs

MIN_YEAR, MAX_YEAR = FIRST_YEAR, LAST_YEAR
MAX_ALARM_DAYS = 365

PARAMS = Params(
    category=Slugs(CATEGORIES),
    year=Integer(MIN_YEAR, MAX_YEAR),
    designated=Flag(),
    round=Flag(),
    notable=Flag(),
    alarm=Integer(0, MAX_ALARM_DAYS),
)


class FeedQueryError(ParamError):
    """A malformed parameter; the message is shown to the client (HTTP 400)."""


@dataclass(frozen=True, slots=True)
class FeedQuery:
    categories: tuple[str, ...] = ()
    year: int | None = None
    designated: bool = False
    round_only: bool = False
    # Designated by any directive, or a round anniversary: the feed offered to departments,
    # never empty in a year without a directive (the designated one is, outside its years).
    notable: bool = False
    alarm_days: int | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> FeedQuery:
        """Parsed by calendar_service/params.py; a parameter given empty is unset."""
        try:
            values = PARAMS.parse(args)
        except ParamError as exc:
            raise FeedQueryError(exc.name, str(exc)) from None
        return cls(categories=values.category, year=values.year,
                   designated=values.designated, round_only=values.round,
                   notable=values.notable, alarm_days=values.alarm)

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
        if self.notable and not (occ.designated or occ.is_round):
            return False
        return True

    def canonical_args(self) -> str:
        """The query string the service's links carry for this selection (parameters in a
        fixed order, booleans as 1): what names its published file (static.py)."""
        pairs = []
        if self.categories:
            pairs.append(f"category={','.join(self.categories)}")
        if self.year is not None:
            pairs.append(f"year={self.year}")
        if self.designated:
            pairs.append("designated=1")
        if self.round_only:
            pairs.append("round=1")
        if self.notable:
            pairs.append("notable=1")
        if self.alarm_days is not None:
            pairs.append(f"alarm={self.alarm_days}")
        return "&".join(pairs)

    def slug(self) -> str:
        """A stable name for this selection: calendar UID and download file name."""
        parts = ["lich-ky-niem", *self.categories]
        if self.year is not None:
            parts.append(str(self.year))
        if self.designated:
            parts.append("theo-chi-thi")
        if self.round_only:
            parts.append("nam-tron")
        if self.notable:
            parts.append("noi-bat")
        if self.alarm_days is not None:
            parts.append(f"nhac-{self.alarm_days}")
        return "-".join(parts)
