"""Today's name beside the historical one: a place or agency written before a rename (the
2024 directive's "tỉnh Quảng Nam", since 1/7/2025 part of Đà Nẵng city) stays as written, and
shows what it is called, or now belongs to, as of a date. The renames are data (`[[rename]]`
tables in the catalogue files), never written into code."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .model import Rename


def today_name(text: str | None, renames: Iterable[Rename], as_of: date) -> str | None:
    """"nay thuộc thành phố Đà Nẵng" (merged) or "nay là Sở X thành phố Đà Nẵng" (renamed)
    for `text` as of `as_of`; None when no rename in force by then concerns it."""
    if not text:
        return None
    current, merged = text, []
    for r in sorted(renames, key=lambda r: (r.since, r.old)):
        if r.since > as_of:
            continue
        if r.kind == "merged":
            if r.old in text and r.new not in merged:
                merged.append(r.new)
        elif r.old in current:
            current = current.replace(r.old, r.new)
    phrases = ([f"nay là {current}"] if current != text else []) + [
        f"nay thuộc {new}" for new in merged if new not in current]
    return "; ".join(phrases) or None


def with_today_name(text: str | None, renames: Iterable[Rename], as_of: date) -> str | None:
    """The text as written, with today's name in brackets when it has changed since."""
    now = today_name(text, renames, as_of)
    return f"{text} ({now})" if now else text
