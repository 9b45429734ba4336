"""Where the long-running processes (`serve`, `scheduler`, the WSGI app under gunicorn)
send their logs: one line per record on stderr (journald keeps it), plain text by default,
one JSON object per line with CALENDAR_LOG_FORMAT=json (python-json-logger), at
CALENDAR_LOG_LEVEL.

What writes the lines: web/observe.py (one per request), reminders/scheduler.py (one per
tick). Their figures travel as the record's `extra` fields, which the JSON lines carry as
keys and the text lines show in the message.
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import IO

from pythonjsonlogger.json import JsonFormatter

from .config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The standard fields of a JSON line, under short stable names; "time" is ISO 8601 in UTC.
JSON_FIELDS = "{levelname}{name}{message}"
JSON_RENAMES = {"levelname": "level", "name": "logger"}


class _TextFormatter(logging.Formatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # UTC, ISO 8601, with milliseconds: lines from several machines sort together.
        return datetime.fromtimestamp(record.created, timezone.utc).isoformat(
            timespec="milliseconds").replace("+00:00", "Z")


class _OurHandler(logging.StreamHandler):
    """Marks the handler this module installed, so configuring again replaces it."""


def formatter(log_format: str) -> logging.Formatter:
    if log_format == "json":
        return JsonFormatter(JSON_FIELDS, style="{", rename_fields=JSON_RENAMES,
                             timestamp="time", json_ensure_ascii=False)
    return _TextFormatter(TEXT_FORMAT)


def configure(settings: Settings, stream: IO[str] | None = None) -> logging.Handler:
    """Install (or replace) the process's log handler on the root logger."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _OurHandler)]:
        root.removeHandler(old)
    handler = _OurHandler(stream or sys.stderr)
    handler.setFormatter(formatter(settings.log_format))
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    return handler
