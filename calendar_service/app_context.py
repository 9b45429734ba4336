"""What a running command needs: settings, the clock and the database, built once, lazily."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from .clock import Clock, SystemClock
from .config import Settings
from .store import Database


@dataclass
class Services:
    settings: Settings
    clock: Clock | None = None
    _database: Database | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.clock is None:
            self.clock = SystemClock(self.settings.tz)

    @cached_property
    def database(self) -> Database:
        return self._database or Database(self.settings.database_url)
