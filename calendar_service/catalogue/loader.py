"""Read catalogue TOML files and validate every entry, reporting all problems at once.

The result is either a complete, valid `Catalogue` or a `CatalogueError` listing each
problem as `PATH:LINE: key: message` — never a partial catalogue, so nothing downstream
(the store, the feed) ever sees half a file.
"""

from __future__ import annotations

import datetime as dt
import difflib
import glob
import re

try:  # the compiled tomli parses ~3x faster; tomllib is the same parser in pure Python
    import tomli as tomllib
except ImportError:  # pragma: no cover - tomli is a dependency, this is a safety net
    import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..vietnamese import nfc
from .categories import CATEGORIES
from .lines import LineMap
from .model import (
    CONTROL_IN_LINE,
    CONTROL_IN_PROSE,
    MAX_LEAD_DAYS,
    Catalogue,
    CatalogueFile,
    Commemoration,
)
from .model import ordinal as ordinal_of

CATALOGUE_TABLE = "catalogue"
ENTRY_TABLE = "commemoration"
CATALOGUE_KEYS = {"designates", "directive", "theme", "source"}
REQUIRED_KEYS = ("id", "title", "category", "origin", "description")
OPTIONAL_KEYS = ("source", "location", "note", "aliases", "lead_days", "ordinal", "observed_on",
                 "observances")
ENTRY_KEYS = set(REQUIRED_KEYS) | set(OPTIONAL_KEYS)
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int
    key: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}: "
        return where + (f"{self.key}: {self.message}" if self.key else self.message)


class CatalogueError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def expand_paths(patterns: Iterable[str | Path]) -> list[Path]:
    """Files, directories (their *.toml) and glob patterns, in a stable order."""
    found: list[Path] = []
    for pattern in patterns:
        p = Path(pattern)
        if p.is_dir():
            found.extend(sorted(p.glob("*.toml")))
        elif any(ch in str(pattern) for ch in "*?["):
            found.extend(Path(m) for m in sorted(glob.glob(str(pattern))))
        else:
            found.append(p)  # a missing file is reported by load_catalogue
    unique: dict[Path, None] = dict.fromkeys(found)
    return list(unique)


def load_catalogue(paths: Iterable[str | Path]) -> Catalogue:
    paths = list(paths)
    problems: list[Problem] = []
    files: list[CatalogueFile] = []
    entries: list[Commemoration] = []
    first_seen: dict[str, tuple[_FileReader, int]] = {}
    if not paths:
        raise CatalogueError([Problem("-", 1, None, "no catalogue files given")])
    for path in paths:
        _FileReader(str(path), problems, files, entries, first_seen).read()
    if problems:
        raise CatalogueError(problems)
    return Catalogue(tuple(files), tuple(sorted(entries, key=lambda c: c.id)))


def load_text(text: str, path: str = "<string>") -> Catalogue:
    """Validate TOML source held in memory (the admin's export round trip, tests)."""
    problems: list[Problem] = []
    files: list[CatalogueFile] = []
    entries: list[Commemoration] = []
    _FileReader(path, problems, files, entries, {}, text=text).read()
    if problems:
        raise CatalogueError(problems)
    return Catalogue(tuple(files), tuple(sorted(entries, key=lambda c: c.id)))


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _suggest(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _FileReader:
    """Validates one file, appending to the shared lists (ids must be unique across files)."""

    def __init__(
        self,
        path: str,
        problems: list[Problem],
        files: list[CatalogueFile],
        entries: list[Commemoration],
        first_seen: dict[str, tuple[_FileReader, int]],
        text: str | None = None,
    ) -> None:
        self.path = path
        self.problems = problems
        self.files = files
        self.entries = entries
        self.first_seen = first_seen
        self.text = text
        self._source = ""
        self._lines: LineMap | None = None

    @property
    def lines(self) -> LineMap:
        """Built only when a problem needs a line number: valid files never pay for it."""
        if self._lines is None:
            self._lines = LineMap(self._source)
        return self._lines

    def problem(self, line: int, key: str | None, message: str) -> None:
        self.problems.append(Problem(self.path, line, key, message))

    def read(self) -> None:
        data = self._parse()
        if data is None:
            return
        for key in data:
            if key not in (CATALOGUE_TABLE, ENTRY_TABLE):
                self.problem(
                    self.lines.line("", None, key) if not isinstance(data[key], (dict, list))
                    else self.lines.line(key, None, None),
                    key,
                    f"unknown top-level key{_suggest(key, (CATALOGUE_TABLE, ENTRY_TABLE))}; "
                    f"expected a [{CATALOGUE_TABLE}] table and [[{ENTRY_TABLE}]] entries",
                )
        header = self._read_header(data.get(CATALOGUE_TABLE))
        raw_entries = data.get(ENTRY_TABLE)
        if raw_entries is None:
            self.problem(1, None, f"no [[{ENTRY_TABLE}]] entries in this file")
            return
        if not isinstance(raw_entries, list) or not all(isinstance(e, dict) for e in raw_entries):
            self.problem(self.lines.line(ENTRY_TABLE), ENTRY_TABLE,
                         f"must be an array of tables written [[{ENTRY_TABLE}]]")
            return
        for index, raw in enumerate(raw_entries):
            entry = self._read_entry(index, raw, header)
            if entry is not None:
                self.entries.append(entry)

    def _parse(self) -> dict[str, Any] | None:
        text = self.text
        if text is None:
            try:
                raw = Path(self.path).read_bytes()
            except FileNotFoundError:
                self.problem(1, None, "no such file")
                return None
            except OSError as exc:
                self.problem(1, None, f"cannot read: {exc.strerror or exc}")
                return None
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = raw[: exc.start].count(b"\n") + 1
                self.problem(line, None, "not valid UTF-8 (save the file as UTF-8)")
                return None
        self._source = text
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            message = str(exc)
            line = 1
            position = _TOML_POSITION.search(message)
            if position:
                line = int(position.group(1))
                message = message[: position.start()]
            key = None
            source_line = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
            match = re.match(r"\s*([A-Za-z0-9_\-]+)\s*=\s*(.*)$", source_line)
            if match:
                key = match.group(1)
                if message.startswith("Invalid date"):
                    message = f"{match.group(2).strip()} is not a date that exists"
            self.problem(line, key, f"TOML syntax error: {message}")
            return None

    def _read_header(self, table: Any) -> CatalogueFile | None:
        if table is None:
            self.problem(1, CATALOGUE_TABLE,
                         f"missing [{CATALOGUE_TABLE}] table (designates, directive, theme)")
            return None
        if not isinstance(table, dict):
            self.problem(self.lines.line("", None, CATALOGUE_TABLE), CATALOGUE_TABLE,
                         "must be a table")
            return None
        at = lambda key=None: self.lines.line(CATALOGUE_TABLE, None, key)  # noqa: E731
        ok = True
        for key in table:
            if key not in CATALOGUE_KEYS:
                self.problem(at(key), key, f"unknown key{_suggest(key, CATALOGUE_KEYS)}")
                ok = False
        designates = table.get("designates")
        if designates is None:
            self.problem(at(), "designates", "required: the year this directive designates")
            ok = False
        elif not _is_int(designates) or not 1900 <= designates <= 2200:
            self.problem(at("designates"), "designates",
                         f"expected a year such as 2024, got {designates!r}")
            ok = False
        texts: dict[str, str | None] = {}
        for key, required in (("directive", True), ("theme", True), ("source", False)):
            value = table.get(key)
            if value is None:
                if required:
                    self.problem(at(), key, "required")
                    ok = False
                texts[key] = None
            elif not isinstance(value, str) or not value.strip():
                self.problem(at(key), key, f"expected a non-empty string, got {_type_name(value)}")
                ok = False
            elif CONTROL_IN_LINE.search(value.strip()):
                self.problem(at(key), key, "control characters are not allowed (nor line breaks)")
                ok = False
            else:
                texts[key] = nfc(value.strip())
        if not ok:
            return None
        header = CatalogueFile(self.path, designates, texts["directive"] or "",
                               texts["theme"] or "", texts["source"])
        self.files.append(header)
        return header

    def _read_entry(
        self, index: int, raw: dict[str, Any], header: CatalogueFile | None
    ) -> Commemoration | None:
        at = lambda key=None: self.lines.line(ENTRY_TABLE, index, key)  # noqa: E731
        start = len(self.problems)

        def fail(key: str, message: str) -> None:
            self.problem(at(key), key, message)

        for key in raw:
            if key not in ENTRY_KEYS:
                fail(key, f"unknown key{_suggest(key, ENTRY_KEYS)}")
        for key in REQUIRED_KEYS:
            if key not in raw:
                self.problem(at(), key, "required")
        if "source" not in raw and (header is None or header.source is None):
            self.problem(at(), "source",
                         f"required (here or as a default in [{CATALOGUE_TABLE}])")

        def text(key: str, *, prose: bool = False) -> str | None:
            value = raw.get(key)
            if value is None:
                return None
            if not isinstance(value, str) or not value.strip():
                fail(key, f"expected a non-empty string, got {_type_name(value)}")
                return None
            if (CONTROL_IN_PROSE if prose else CONTROL_IN_LINE).search(value.strip()):
                fail(key, "control characters are not allowed"
                          + ("" if prose else " (nor line breaks: this is one line)"))
                return None
            return nfc(value.strip())

        ident = raw.get("id")
        if ident is not None:
            if not isinstance(ident, str) or not SLUG.match(ident) or len(ident) > 80:
                fail("id", f"expected a slug of lower-case letters, digits and hyphens "
                           f"(e.g. 'dien-bien-phu'), got {ident!r}")
                ident = None
            elif ident in self.first_seen:
                first, first_index = self.first_seen[ident]
                first_line = first.lines.line(ENTRY_TABLE, first_index, "id")
                fail("id", f"duplicate id '{ident}' (first defined at {first.path}:{first_line})")
            else:
                self.first_seen[ident] = (self, index)

        title = text("title")
        description = text("description", prose=True)
        location = text("location")
        note = text("note", prose=True)
        source = text("source") or (header.source if header else None)

        category = raw.get("category")
        if category is not None and category not in CATEGORIES:
            fail("category", f"unknown category {category!r}; expected one of "
                             + ", ".join(sorted(CATEGORIES)))

        origin_year, origin_month, origin_day = self._read_origin(raw.get("origin"), fail)
        designates = header.designates if header else None
        if origin_year is not None and designates is not None and origin_year >= designates:
            fail("origin", f"year {origin_year} is not before the designated year {designates}")
            origin_year = None

        ordinal = raw.get("ordinal")
        if ordinal is not None:
            if not _is_int(ordinal) or ordinal < 1:
                fail("ordinal", f"expected a positive integer, got {ordinal!r}")
            elif origin_year is not None and designates is not None:
                computed = ordinal_of(origin_year, designates)
                if ordinal != computed:
                    fail("ordinal", f"{ordinal} disagrees with the computed ordinal {computed} "
                                    f"({designates} − {origin_year})")

        lead_days = self._read_lead_days(raw.get("lead_days"), fail)
        aliases = self._read_aliases(raw.get("aliases"), fail)

        observances: tuple[tuple[int, dt.date], ...] = ()
        observed_on = raw.get("observed_on")
        if observed_on is not None:
            if isinstance(observed_on, dt.datetime) or not isinstance(observed_on, dt.date):
                fail("observed_on", f"expected a date such as 2024-07-27 (no quotes), "
                                    f"got {_type_name(observed_on)}")
            elif designates is not None and observed_on.year != designates:
                fail("observed_on", f"{observed_on.isoformat()} is outside the designated "
                                    f"year {designates}")
            elif designates is not None:
                observances = ((designates, observed_on),)
        observances += self._read_observances(raw.get("observances"), fail, origin_year,
                                              designates)

        if len(self.problems) > start or header is None:
            return None
        assert ident and title and category and description and source and origin_year
        return Commemoration(
            id=ident,
            title=title,
            category=category,
            origin_year=origin_year,
            origin_month=origin_month,
            origin_day=origin_day,
            description=description,
            source=source,
            location=location,
            note=note,
            aliases=aliases,
            lead_days=lead_days,
            designated_years=frozenset({header.designates}),
            observances=tuple(sorted(observances)),
            source_file=self.path,
        )

    @staticmethod
    def _read_origin(value: Any, fail) -> tuple[int | None, int | None, int | None]:
        if value is None:
            return None, None, None
        if isinstance(value, dt.datetime):
            fail("origin", "expected a date without a time (e.g. 1954-05-07) or a year")
        elif isinstance(value, dt.date):
            return value.year, value.month, value.day
        elif _is_int(value):
            if 1 <= value <= 9999:
                return value, None, None
            fail("origin", f"year {value} is out of range")
        elif isinstance(value, str):
            match = ISO_DATE.match(value.strip())
            if match:
                try:
                    dt.date(*(int(g) for g in match.groups()))
                except ValueError:
                    fail("origin", f"{value} is not a date that exists")
                else:
                    fail("origin", f"write the date without quotes: origin = {value}")
            else:
                fail("origin", f"expected a TOML date (1954-05-07) or a year (1904), got {value!r}")
        else:
            fail("origin", f"expected a date or a year, got {_type_name(value)}")
        return None, None, None

    @staticmethod
    def _read_lead_days(value: Any, fail) -> tuple[int, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            fail("lead_days", f"expected a non-empty array of days, got {_type_name(value)}")
            return None
        bad = [v for v in value if not _is_int(v) or not 1 <= v <= MAX_LEAD_DAYS]
        if bad:
            fail("lead_days", "each lead time must be a positive integer number of days "
                              f"(1–{MAX_LEAD_DAYS}); got " + ", ".join(repr(v) for v in bad))
            return None
        if len(set(value)) != len(value):
            fail("lead_days", "lead times repeat: " + ", ".join(str(v) for v in value))
            return None
        return tuple(sorted(value, reverse=True))

    @staticmethod
    def _read_observances(value: Any, fail, origin_year: int | None, designates: int | None
                          ) -> tuple[tuple[int, dt.date], ...]:
        """Days chosen for years other than the designated one (whose day is observed_on)."""
        key = "observances"
        if value is None:
            return ()
        if not isinstance(value, list) or not value:
            fail(key, "expected a non-empty array of dates such as [2025-07-27, 2026-07-28], "
                      f"got {_type_name(value)}")
            return ()
        bad = [v for v in value if isinstance(v, dt.datetime) or not isinstance(v, dt.date)]
        if bad:
            fail(key, "expected dates such as 2025-07-27 (no quotes, no time); got "
                      + ", ".join(repr(v) if isinstance(v, str) else _type_name(v) for v in bad))
            return ()
        problems = 0
        if designates is not None and (inside := [d for d in value if d.year == designates]):
            fail(key, ", ".join(d.isoformat() for d in inside) + f" is in the designated year "
                      f"{designates}: write that day as observed_on")
            problems += 1
        if origin_year is not None and (early := [d for d in value if d.year <= origin_year]):
            fail(key, ", ".join(d.isoformat() for d in early)
                      + f" is not after the origin year {origin_year}")
            problems += 1
        years: dict[int, list[dt.date]] = {}
        for d in value:
            years.setdefault(d.year, []).append(d)
        for year, days in sorted(years.items()):
            if len(days) > 1:
                fail(key, f"{len(days)} dates in {year} (" + ", ".join(d.isoformat() for d in days)
                          + "): at most one day per year")
                problems += 1
        if problems:
            return ()
        return tuple(sorted((d.year, d) for d in value))

    @staticmethod
    def _read_aliases(value: Any, fail) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            fail("aliases", "expected an array of non-empty strings")
            return ()
        if any(CONTROL_IN_LINE.search(v.strip()) for v in value):
            fail("aliases", "control characters are not allowed (nor line breaks)")
            return ()
        return tuple(nfc(v.strip()) for v in value)
