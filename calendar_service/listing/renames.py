"""Today's names of renamed places and agencies, for the pages, the feed, the API, mail and
plans: the renames are read with the listing index's snapshot (one query per data version,
under the same version check), so asking costs nothing more."""

from __future__ import annotations

from datetime import date

from ..catalogue.model import Rename
from ..catalogue.renames import today_name, with_today_name
from .index import ListingIndex


class RenameBook:
    def __init__(self, listing: ListingIndex) -> None:
        self.listing = listing

    @classmethod
    def of(cls, services) -> RenameBook:  # for services.shared(RenameBook.of)
        return cls(services.listing)

    def all(self) -> tuple[Rename, ...]:
        return self.listing.snapshot().renames

    def today(self, text: str | None, as_of: date) -> str | None:
        """"nay thuộc thành phố Đà Nẵng", or None."""
        return today_name(text, self.all(), as_of) if text else None

    def beside(self, text: str | None, as_of: date) -> str | None:
        """The text as written, with today's name in brackets when it changed."""
        return with_today_name(text, self.all(), as_of) if text else text
