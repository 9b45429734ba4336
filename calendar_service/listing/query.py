"""The occurrence listing shared by the home page and the JSON API: parameters parsed and
validated once (a bad one is a clear 400), then an indexed range query, filters, a page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ..anniversaries import Occurrence
from ..catalogue import CATEGORIES
from ..params import Choice, Day, Flag, Integer, ParamError, Params, Slugs, Text

if TYPE_CHECKING:
    from .index import ListingIndex

MAX_RANGE_DAYS = 3 * 366
MAX_PER_PAGE = 200


class ListingError(ParamError):
    """A malformed parameter; the message names it (shown to the user, in Vietnamese)."""


# Declared once for the home page and the API (calendar_service/params.py).
PARAMS = Params({
    "from": Day(), "to": Day(),
    "category": Slugs(CATEGORIES),
    "designated": Flag(), "round": Flag(),
    "only": Choice(("designated", "round", "notable")),
    "q": Text(100),
    "page": Integer(1, 10_000, default=1),
    "per_page": Integer(1, MAX_PER_PAGE),
})


@dataclass(frozen=True)
class Listing:
    start: date
    end: date
    categories: tuple[str, ...] = ()
    designated: bool = False
    round_only: bool = False
    notable: bool = False  # designated or round
    q: str = ""
    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args, today: date, *, default_days: int = 90,
                  search_days: int | None = None,
                  per_page: int = 50, strict: bool = False) -> Listing:
        """`strict` (the API): a parameter given empty is an error, not "unset" as in the
        page's form, whose untouched fields arrive empty. Without `to`, the listing runs
        `default_days`, or `search_days` when there is a search (`q`)."""
        try:
            values = PARAMS.parse(args, strict=strict)
        except ParamError as exc:
            raise ListingError(exc.name, str(exc)) from None
        start = values["from"] or today
        days = search_days if values.q and search_days is not None else default_days
        end = values.to or start + timedelta(days=days - 1)
        if end < start:
            raise ListingError("to", "Ngày kết thúc (to) phải sau ngày bắt đầu (from).")
        if (end - start).days > MAX_RANGE_DAYS:
            raise ListingError("to", f"Khoảng thời gian từ from đến to tối đa {MAX_RANGE_DAYS} "
                                     "ngày.")
        only = values.only
        return cls(
            start=start, end=end, categories=values.category,
            designated=values.designated or only == "designated",
            round_only=values.round or only == "round",
            notable=only == "notable", q=values.q, page=values.page,
            per_page=values.per_page or per_page)

    def selects(self, occ: Occurrence) -> bool:
        """The filters other than the text search, on the engine's own flags."""
        c = occ.commemoration
        if self.categories and c.category not in self.categories:
            return False
        if self.designated and not occ.designated:
            return False
        if self.round_only and not occ.is_round:
            return False
        if self.notable and not (occ.designated or occ.is_round):
            return False
        return True

    def accepts(self, occ: Occurrence) -> bool:
        """Everything this listing asks of an occurrence (what the index answers fast)."""
        return self.selects(occ) and (not self.q or occ.commemoration.matches(self.q))

    @property
    def selection(self) -> tuple:
        """Names what `selects` does: equal selections select the same occurrences."""
        return (self.categories, self.designated, self.round_only, self.notable)

    @property
    def filtered(self) -> bool:
        return bool(self.categories or self.designated or self.round_only or self.notable
                    or self.q)

    def run(self, index: ListingIndex) -> tuple[list[Occurrence], int]:
        """(this page's occurrences, total matching), from the in-memory index."""
        selecting = self.categories or self.designated or self.round_only or self.notable
        return index.page(self.start, self.end,
                          accepts=self.selects if selecting else None, key=self.selection,
                          text=self.q, offset=(self.page - 1) * self.per_page,
                          limit=self.per_page)
