"""The occurrence listing shared by the home page and the JSON API: parameters parsed and
validated once (a bad one is a clear 400), then an indexed range query, filters, a page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from ..anniversaries import Occurrence
from ..catalogue import CATEGORIES

if TYPE_CHECKING:
    from .index import ListingIndex

MAX_RANGE_DAYS = 3 * 366
MAX_PER_PAGE = 200


class ListingError(ValueError):
    """A malformed parameter; the message names it (shown to the user, in Vietnamese)."""


def _date(args: Mapping[str, str], name: str) -> date | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ListingError(f"Tham số {name}={raw!r} không phải ngày dạng YYYY-MM-DD.") from None


def _flag(args: Mapping[str, str], name: str, strict: bool = False) -> bool:
    raw = (args.get(name) or "").strip().lower()
    if not raw:
        return False
    if raw in (("0",) if strict else ("0", "false", "no")):
        return False
    if raw in (("1",) if strict else ("1", "true", "yes", "on")):
        return True
    raise ListingError(f"Tham số {name}={args.get(name)!r}: dùng 1 hoặc 0.")


def _int(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise ListingError(f"Tham số {name}={raw!r}: cần số nguyên từ {low} đến {high}.")
    return int(raw)


def _categories(values: list[str]) -> tuple[str, ...]:
    chosen: set[str] = set()
    for value in values:
        for slug in value.split(","):
            slug = slug.strip()
            if not slug:
                continue
            if slug not in CATEGORIES:
                raise ListingError(f"Không có nhóm {slug!r}; các nhóm: "
                                   + ", ".join(sorted(CATEGORIES)) + ".")
            chosen.add(slug)
    return tuple(sorted(chosen))


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
                  per_page: int = 50, strict: bool = False) -> Listing:
        """`strict` (the API): a parameter given empty is an error, not "unset" as in the
        page's form, whose untouched fields arrive empty."""
        if strict:
            for name in ("from", "to", "category", "designated", "round", "page", "per_page",
                         "only"):
                if name in args and not (args.get(name) or "").strip():
                    raise ListingError(f"Tham số {name} không được để trống.")
        start = _date(args, "from") or today
        end = _date(args, "to") or start + timedelta(days=default_days - 1)
        if end < start:
            raise ListingError("Ngày kết thúc (to) phải sau ngày bắt đầu (from).")
        if (end - start).days > MAX_RANGE_DAYS:
            raise ListingError(f"Khoảng thời gian tối đa {MAX_RANGE_DAYS} ngày.")
        only = (args.get("only") or "").strip()
        if only not in ("", "designated", "round", "notable"):
            raise ListingError(f"Tham số only={only!r}: designated, round hoặc notable.")
        q = (args.get("q") or "").strip()
        if len(q) > 100:
            raise ListingError("Từ khóa tìm kiếm tối đa 100 ký tự.")
        categories = args.getlist("category") if hasattr(args, "getlist") else (
            [args["category"]] if "category" in args else [])
        return cls(
            start=start, end=end, categories=_categories(categories),
            designated=_flag(args, "designated", strict) or only == "designated",
            round_only=_flag(args, "round", strict) or only == "round",
            notable=only == "notable", q=q,
            page=_int(args, "page", 1, 1, 10_000),
            per_page=_int(args, "per_page", per_page, 1, MAX_PER_PAGE))

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
