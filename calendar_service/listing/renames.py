"""The renames of places and agencies as a per-process cache over the store, re-read when the
data version changes: pages, the feed, the API and the plans ask it for today's name."""

from __future__ import annotations

import threading
from datetime import date

from ..catalogue.model import Rename
from ..catalogue.renames import today_name, with_today_name
from ..store.queries import renames
from ..store.state import VersionWatch


class RenameBook:
    def __init__(self, database, watch: VersionWatch) -> None:
        self.database = database
        self.watch = watch
        self._lock = threading.Lock()
        self._loaded: tuple[int, tuple[Rename, ...]] | None = None

    @classmethod
    def of(cls, services) -> RenameBook:  # for services.shared(RenameBook.of)
        return cls(services.database, services.watch)

    def all(self) -> tuple[Rename, ...]:
        version = self.watch.current()
        loaded = self._loaded
        if loaded is None or loaded[0] != version:
            with self._lock, self.database.session() as session:
                loaded = self._loaded = (version, tuple(renames(session)))
        return loaded[1]

    def today(self, text: str | None, as_of: date) -> str | None:
        """"nay thuộc thành phố Đà Nẵng", or None."""
        return today_name(text, self.all(), as_of) if text else None

    def beside(self, text: str | None, as_of: date) -> str | None:
        """The text as written, with today's name in brackets when it changed."""
        return with_today_name(text, self.all(), as_of) if text else text
