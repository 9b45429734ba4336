"""The store: SQLAlchemy models, sessions, migrations, catalogue sync and read queries."""

from .db import Database
from .migrate import upgrade
from .queries import (
    StoredCommemoration,
    get_commemoration,
    list_commemorations,
    occurrences_between,
    stored_occurrences_between,
)
from .state import data_version
from .sync import SyncReport, sync_catalogue

__all__ = [
    "Database",
    "StoredCommemoration",
    "SyncReport",
    "data_version",
    "get_commemoration",
    "list_commemorations",
    "occurrences_between",
    "stored_occurrences_between",
    "sync_catalogue",
    "upgrade",
]
