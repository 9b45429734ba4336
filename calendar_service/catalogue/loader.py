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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .. import lunar as lunar_calendar
from ..vietnamese import nfc
from .agencies import ROLES, Agency
from .categories import CATEGORIES
from .lines import LineMap
from .model import (
    CONTROL_IN_LINE,
    CONTROL_IN_PROSE,
    DEFAULT_SCOPE,
    MAX_LEAD_DAYS,
    SCOPES,
    Catalogue,
    CatalogueFile,
    Commemoration,
    Designation,
    LunarDay,
    Rename,
    default_directive_id,
)
from .model import ordinal as ordinal_of
from .plans import (
    ACTIVITY_KINDS,
    DEFAULT_NOTICE_DAYS,
    MAX_OFFSET_DAYS,
    TITLE_FIELDS,
    Activity,
    PlanTemplate,
    title_fields,
)

CATALOGUE_TABLE = "catalogue"
ENTRY_TABLE = "commemoration"
AGENCY_TABLE = "agency"
TEMPLATE_TABLE = "template"
ACTIVITY_TABLE = "template.activity"
DESIGNATION_TABLE = "designation"
RENAME_TABLE = "rename"
TOP_LEVEL = (CATALOGUE_TABLE, ENTRY_TABLE, DESIGNATION_TABLE, RENAME_TABLE, AGENCY_TABLE,
             TEMPLATE_TABLE)
DESIGNATION_KEYS = {"id", "ordinal"}
RENAME_REQUIRED = ("old", "new", "since", "source")
RENAME_KEYS = {*RENAME_REQUIRED, "kind"}
RENAME_KINDS = ("renamed", "merged")
AGENCY_REQUIRED = ("id", "name", "short_names", "role", "source")
AGENCY_KEYS = {*AGENCY_REQUIRED, "emails", "webhook"}
TEMPLATE_REQUIRED = ("id", "name", "activity")
TEMPLATE_KEYS = {*TEMPLATE_REQUIRED, "categories", "round", "designated", "commemorations",
                 "notice_days", "source"}
ACTIVITY_REQUIRED = ("kind", "title", "agency", "due")
ACTIVITY_KEYS = {*ACTIVITY_REQUIRED, "with", "from", "to"}
CATALOGUE_KEYS = {"designates", "directive", "theme", "source", "scope", "id", "name"}
# Keys only a directive's file (one that designates a year) may hold.
DIRECTIVE_KEYS = ("directive", "theme", "id")
REQUIRED_KEYS = ("id", "title", "category", "description")  # and `origin` or `lunar`
OPTIONAL_KEYS = ("origin", "lunar", "origin_year", "source", "location", "note", "aliases",
                 "lead_days", "ordinal", "observed_on", "observances", "scope")
LUNAR_KEYS = ("month", "day", "leap")
ENTRY_KEYS = set(REQUIRED_KEYS) | set(OPTIONAL_KEYS)
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # a plausible address; sending checks more
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


@dataclass
class _Collected:
    """What every file of one load adds to, so that ids are unique across files and
    references (an agency named by a template) are checked against all of them."""

    problems: list[Problem] = field(default_factory=list)
    files: list[CatalogueFile] = field(default_factory=list)
    entries: list[Commemoration] = field(default_factory=list)
    agencies: list[Agency] = field(default_factory=list)
    templates: list[PlanTemplate] = field(default_factory=list)
    # id -> (reader, index) where it was first defined, per kind of table
    first_seen: dict[str, dict[str, tuple[_FileReader, int]]] = field(
        default_factory=lambda: {ENTRY_TABLE: {}, AGENCY_TABLE: {}, TEMPLATE_TABLE: {}})
    # (reader, line, key, kind of table it names, the id) checked once every file is read
    references: list[tuple[_FileReader, int, str, str, str]] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)
    # Designations to attach once every entry is read: a directive's file may name entries
    # defined in any file of the load.
    designations: list[_Designating] = field(default_factory=list)
    directive_ids: dict[str, CatalogueFile] = field(default_factory=dict)

    def check_references(self) -> None:
        for reader, line, key, table, ident in self.references:
            if ident not in self.first_seen[table]:
                known = sorted(self.first_seen[table])
                what = "agency" if table == AGENCY_TABLE else "commemoration"
                hint = _suggest(ident, known) or (
                    f"; known: {', '.join(known)}" if known and len(known) <= 12 else "")
                reader.problem(line, key, f"unknown {what} {ident!r}{hint}")

    def designate(self) -> list[Commemoration]:
        """The entries with their designations; a designation's ordinal is checked against
        its entry's origin (the entry may live in another file)."""
        by_id = {c.id: c for c in self.entries}
        found: dict[str, list[Designation]] = {}
        seen: dict[tuple[str, str], _Designating] = {}
        for d in self.designations:
            d = replace(d, directive=self.directive_ids[d.directive.id or ""])
            c = by_id.get(d.commemoration)
            if c is None:
                continue  # an unknown id, or an entry with problems: reported already
            key = (d.directive.id or "", c.id)
            if key in seen:
                first = seen[key]
                d.reader.problem(d.line, "id", f"{c.id!r} is already designated by this "
                                 f"directive (at {first.reader.path}:{first.line})")
                continue
            seen[key] = d
            year = d.directive.designates
            assert year is not None
            if c.origin_year is None:  # a yearly observance (Tết): designated, no ordinal
                if d.ordinal is not None:
                    d.reader.problem(d.ordinal_line, "ordinal", f"{c.id!r} has no historical "
                                     "year, so its occurrences have no ordinal")
                    continue
                found.setdefault(c.id, []).append(Designation(
                    year=year, directive=d.directive.id or "", ordinal=None,
                    label=d.directive.label, title=d.directive.directive or d.directive.label))
                continue
            computed = ordinal_of(c.origin_year, year)
            if computed < 1:
                d.reader.problem(d.line, "id", f"{c.id!r} has its origin in {c.origin_year}, "
                                 f"not before the designated year {year}")
                continue
            if d.ordinal is not None and d.ordinal != computed:
                d.reader.problem(d.ordinal_line, "ordinal", f"{d.ordinal} disagrees with the "
                                 f"computed ordinal {computed} ({year} − {c.origin_year})")
                continue
            found.setdefault(c.id, []).append(Designation(
                year=year, directive=d.directive.id or "", ordinal=computed,
                label=d.directive.label, title=d.directive.directive or d.directive.label))
        return [replace(c, designations=tuple(sorted(found[c.id], key=lambda x: (
                    x.year, x.directive)))) if c.id in found else c
                for c in self.entries]

    def catalogue(self) -> Catalogue:
        self.check_references()
        entries = self.designate()
        if self.problems:
            raise CatalogueError(self.problems)
        return Catalogue(tuple(self.files), tuple(sorted(entries, key=lambda c: c.id)),
                         agencies=tuple(self.agencies), templates=tuple(self.templates),
                         renames=tuple(self.renames))


@dataclass(frozen=True, slots=True)
class _Designating:
    reader: _FileReader
    line: int
    ordinal_line: int
    directive: CatalogueFile
    commemoration: str
    ordinal: int | None


def load_catalogue(paths: Iterable[str | Path]) -> Catalogue:
    """Every file's commemorations, agencies and plan templates, all validated together."""
    paths = list(paths)
    if not paths:
        raise CatalogueError([Problem("-", 1, None, "no catalogue files given")])
    collected = _Collected()
    for path in paths:
        _FileReader(str(path), collected).read()
    return collected.catalogue()


def load_text(text: str, path: str = "<string>") -> Catalogue:
    """Validate TOML source held in memory (the admin's export round trip, tests)."""
    collected = _Collected()
    _FileReader(path, collected, text=text).read()
    return collected.catalogue()


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


def _scope_message(value: Any) -> str:
    shown = repr(value) if isinstance(value, str) else _type_name(value)
    return ("expected one of " + ", ".join(f'"{s}"' for s in SCOPES)
            + f" (the nation's observance, or the province's own), got {shown}")


def _suggest(key: str, allowed: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _FileReader:
    """Validates one file, appending to the shared lists (ids must be unique across files)."""

    def __init__(self, path: str, collected: _Collected, text: str | None = None) -> None:
        self.path = path
        self.collected = collected
        self.problems = collected.problems
        self.files = collected.files
        self.entries = collected.entries
        self.first_seen = collected.first_seen[ENTRY_TABLE]
        self.text = text
        self._source = ""
        self._parsed: dict[str, Any] | None = None
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
            if key not in TOP_LEVEL:
                self.problem(
                    self.lines.line("", None, key) if not isinstance(data[key], (dict, list))
                    else self.lines.line(key, None, None),
                    key,
                    f"unknown top-level key{_suggest(key, TOP_LEVEL)}; expected a "
                    f"[{CATALOGUE_TABLE}] table with [[{ENTRY_TABLE}]] entries or "
                    f"[[{DESIGNATION_TABLE}]] tables, [[{RENAME_TABLE}]], [[{AGENCY_TABLE}]] or "
                    f"[[{TEMPLATE_TABLE}]] tables",
                )
        planning = AGENCY_TABLE in data or TEMPLATE_TABLE in data or RENAME_TABLE in data
        if AGENCY_TABLE in data:
            self._read_tables(data[AGENCY_TABLE], AGENCY_TABLE, self._read_agency,
                              self.collected.agencies)
        if TEMPLATE_TABLE in data:
            self._read_tables(data[TEMPLATE_TABLE], TEMPLATE_TABLE, self._read_template,
                              self.collected.templates)
        if RENAME_TABLE in data:
            self._read_tables(data[RENAME_TABLE], RENAME_TABLE, self._read_rename,
                              self.collected.renames)
        if planning and CATALOGUE_TABLE not in data and ENTRY_TABLE not in data \
                and DESIGNATION_TABLE not in data:
            return  # a file of agencies, plan templates or renames only
        header = self._read_header(data.get(CATALOGUE_TABLE))
        raw_entries = data.get(ENTRY_TABLE)
        raw_designations = data.get(DESIGNATION_TABLE)
        if raw_entries is None and raw_designations is None:
            self.problem(1, None, f"no [[{ENTRY_TABLE}]] entries (nor [[{DESIGNATION_TABLE}]] "
                                  "of entries defined elsewhere) in this file")
            return
        if raw_entries is not None:
            self._read_tables(raw_entries, ENTRY_TABLE,
                              lambda index, raw: self._read_entry(index, raw, header),
                              self.entries)
        if raw_designations is not None:
            if header is not None and header.designates is None:
                self.problem(self.lines.line(DESIGNATION_TABLE, 0), DESIGNATION_TABLE,
                             "only a directive's file designates: give the year in "
                             f"[{CATALOGUE_TABLE}] (designates = 2025, directive, theme)")
                return
            self._read_tables(raw_designations, DESIGNATION_TABLE,
                              lambda index, raw: self._read_designation(index, raw, header),
                              [])

    def _read_tables(self, raw: Any, table: str, read, into: list) -> None:
        if not isinstance(raw, list) or not all(isinstance(e, dict) for e in raw):
            self.problem(self.lines.line(table), table,
                         f"must be an array of tables written [[{table}]]")
            return
        for index, item in enumerate(raw):
            value = read(index, item)
            if value is not None:
                into.append(value)

    def _claim_id(self, table: str, index: int, ident: Any, fail) -> str | None:
        """A slug id, unique among the tables of its kind across every file."""
        if not isinstance(ident, str) or not SLUG.match(ident) or len(ident) > 80:
            fail("id", f"expected a slug of lower-case letters, digits and hyphens "
                       f"(e.g. 'dien-bien-phu'), got {ident!r}")
            return None
        seen = self.collected.first_seen[table]
        if ident in seen:
            first, first_index = seen[ident]
            first_line = first.lines.line(table, first_index, "id")
            fail("id", f"duplicate id '{ident}' (first defined at {first.path}:{first_line})")
            return None
        seen[ident] = (self, index)
        return ident

    def _refer(self, line: int, key: str, table: str, ident: str) -> None:
        self.collected.references.append((self, line, key, table, ident))

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
            self._parsed = tomllib.loads(text)
            return self._parsed
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
                         f"missing [{CATALOGUE_TABLE}] table (a directive's: designates, "
                         "directive, theme; a standing list's: name)")
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
        standing = designates is None  # a standing list: it designates nothing
        if not standing and (not _is_int(designates) or not 1900 <= designates <= 2200):
            self.problem(at("designates"), "designates",
                         f"expected a year such as 2024, got {designates!r}")
            ok = False
        if standing:
            for key in DIRECTIVE_KEYS:
                if key in table:
                    self.problem(at(key), key, "only a directive's file has this key: give "
                                 "the year it designates (designates = 2025), or leave it out "
                                 "in a standing list")
                    ok = False
        texts: dict[str, str | None] = {}
        for key, required in (("directive", not standing), ("theme", not standing),
                              ("source", False), ("name", standing)):
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
        scope = table.get("scope", DEFAULT_SCOPE)
        if scope not in SCOPES:
            self.problem(at("scope"), "scope", _scope_message(scope))
            ok = False
        ident = None
        if not standing and ok:
            ident = table.get("id", default_directive_id(designates))
            if not isinstance(ident, str) or not SLUG.match(ident) or len(ident) > 80:
                self.problem(at("id"), "id", "expected a slug of lower-case letters, digits "
                             f"and hyphens (e.g. 'chi-thi-2025'), got {ident!r}")
                ok = False
            elif (ident in self.collected.directive_ids
                  and (first := self.collected.directive_ids[ident]).directive
                  != texts["directive"]):
                # One directive may span several files (the same header); two directives
                # of one year need ids of their own.
                self.problem(at("id" if "id" in table else "designates"), "id",
                             f"directive {ident!r} is already given by {first.path} with "
                             "other wording: two directives of one year need an id each "
                             "([catalogue] id = …)")
                ok = False
        if not ok:
            return None
        header = CatalogueFile(self.path, designates, texts["directive"], texts["theme"],
                               texts["source"], scope, ident, texts["name"])
        if ident is not None:
            # The first file of a directive gives its header (one directive, several files).
            self.collected.directive_ids.setdefault(ident, header)
        self.files.append(header)
        return header

    def _read_entry(
        self, index: int, raw: dict[str, Any], header: CatalogueFile | None
    ) -> Commemoration | None:
        at = lambda key=None: self.lines.line(ENTRY_TABLE, index, key)  # noqa: E731
        start = len(self.problems)

        def fail(key: str, message: str) -> None:
            # "lunar.day" is on the line of `lunar = { … }`
            self.problem(at(key.split(".")[0]), key, message)

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
            ident = self._claim_id(ENTRY_TABLE, index, ident, fail)

        title = text("title")
        description = text("description", prose=True)
        location = text("location")
        note = text("note", prose=True)
        source = text("source") or (header.source if header else None)

        scope = raw.get("scope", header.scope if header else DEFAULT_SCOPE)
        if scope not in SCOPES:
            fail("scope", _scope_message(scope))

        category = raw.get("category")
        if category is not None and category not in CATEGORIES:
            fail("category", f"unknown category {category!r}; expected one of "
                             + ", ".join(sorted(CATEGORIES)))

        lunar = None
        if "lunar" in raw:
            if "origin" in raw:
                fail("lunar", "give either origin (a solar date or year) or lunar (a lunar day "
                              "with origin_year when the year is known), not both")
            lunar = self._read_lunar(raw["lunar"], fail)
            origin_year = self._read_origin_year(raw.get("origin_year"), fail)
            origin_month = origin_day = None
            if lunar is not None and origin_year is not None:
                self._check_lunar_origin(lunar, origin_year, fail)
        else:
            if "origin" not in raw:
                self.problem(at(), "origin", "required (or lunar = { month = 3, day = 10 } for "
                                             "a lunar date)")
            if "origin_year" in raw:
                fail("origin_year", "only a lunar origin takes origin_year; a solar one is "
                                    "written origin = 1954-05-07 or origin = 1904")
            origin_year, origin_month, origin_day = self._read_origin(raw.get("origin"), fail)
        designates = header.designates if header else None
        origin_key = "origin_year" if lunar is not None else "origin"
        if origin_year is not None and designates is not None and origin_year >= designates:
            fail(origin_key, f"year {origin_year} is not before the designated year {designates}")
            origin_year = None

        ordinal = raw.get("ordinal")
        if ordinal is not None and header is not None and designates is None:
            fail("ordinal", "a standing list designates no year, so an entry has no "
                            "ordinal of its own (the engine counts it every year)")
        elif ordinal is not None and "lunar" in raw and "origin_year" not in raw:
            fail("ordinal", "an observance without origin_year has no ordinal (it recurs "
                            "every year without one)")
        elif ordinal is not None:
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
            elif header is not None and designates is None:
                fail("observed_on", "a standing list designates no year: give the days as "
                                    "observances = [2025-07-27, …]")
            elif designates is not None and observed_on.year != designates:
                fail("observed_on", f"{observed_on.isoformat()} is outside the designated "
                                    f"year {designates}")
            elif designates is not None:
                observances = ((designates, observed_on),)
        observances += self._read_observances(raw.get("observances"), fail, origin_year,
                                              designates)

        if len(self.problems) > start or header is None:
            return None
        assert ident and title and category and description and source
        assert origin_year is not None or lunar is not None
        if header.designates is not None:  # a directive's file designates its own entries
            self.collected.designations.append(_Designating(
                self, at("id"), at("ordinal"), header, ident, None))
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
            observances=tuple(sorted(observances)),
            lunar=lunar,
            source_file=self.path,
            scope=scope,
        )

    def _read_designation(self, index: int, raw: dict[str, Any],
                          header: CatalogueFile | None) -> None:
        """`[[designation]] id = "…" ordinal = 80`: this directive names an entry defined
        in any file of the load (checked once all are read)."""
        at = lambda key=None: self.lines.line(DESIGNATION_TABLE, index, key)  # noqa: E731
        start = len(self.problems)

        def fail(key: str, message: str) -> None:
            self.problem(at(key), key, message)

        self._check_keys(raw, DESIGNATION_KEYS, ("id",), fail, at)
        ident = raw.get("id")
        if ident is not None and (not isinstance(ident, str) or not SLUG.match(ident)):
            fail("id", f"expected the id of a commemoration (e.g. 'dien-bien-phu'), "
                       f"got {ident!r}")
        ordinal = raw.get("ordinal")
        if ordinal is not None and (not _is_int(ordinal) or ordinal < 1):
            fail("ordinal", f"expected a positive integer, got {ordinal!r}")
        if len(self.problems) > start or header is None:
            return None
        self._refer(at("id"), "id", ENTRY_TABLE, ident)
        self.collected.designations.append(_Designating(
            self, at("id"), at("ordinal"), header, ident, ordinal))
        return None

    def _read_rename(self, index: int, raw: dict[str, Any]) -> Rename | None:
        at = lambda key=None: self.lines.line(RENAME_TABLE, index, key)  # noqa: E731
        start = len(self.problems)

        def fail(key: str, message: str) -> None:
            self.problem(at(key), key, message)

        self._check_keys(raw, RENAME_KEYS, RENAME_REQUIRED, fail, at)
        old = self._text(raw, "old", fail, limit=300)
        new = self._text(raw, "new", fail, limit=300)
        source = self._text(raw, "source", fail, limit=2000)
        if old is not None and old == new:
            fail("new", "is the same as old")
        since = raw.get("since")
        if since is not None and (isinstance(since, dt.datetime)
                                  or not isinstance(since, dt.date)):
            fail("since", f"expected a date such as 2025-07-01 (no quotes), "
                          f"got {_type_name(since)}")
        kind = raw.get("kind", "renamed")
        if kind not in RENAME_KINDS:
            shown = repr(kind) if isinstance(kind, str) else _type_name(kind)
            fail("kind", '"renamed" (now called new) or "merged" (now part of new), '
                         f"got {shown}")
        for other in self.collected.renames:
            if old is not None and other.old == old and other.since == since:
                fail("old", f"{old!r} is already renamed on that day (in {other.source_file})")
        if len(self.problems) > start:
            return None
        assert old and new and source and isinstance(since, dt.date)
        return Rename(old=old, new=new, since=since, source=source, kind=kind,
                      source_file=self.path)

    @staticmethod
    def _read_lunar(value: Any, fail) -> LunarDay | None:
        """lunar = { month = 3, day = 10 } (leap = true for a leap month)."""
        if not isinstance(value, dict):
            fail("lunar", "expected a table such as { month = 3, day = 10 } (leap = true for "
                          f"a leap month), got {_type_name(value)}")
            return None
        ok = True
        for key in value:
            if key not in LUNAR_KEYS:
                fail(f"lunar.{key}", f"unknown key{_suggest(key, LUNAR_KEYS)}; expected month, "
                                     "day and leap")
                ok = False
        parts: dict[str, int] = {}
        for key, last in (("month", 12), ("day", 30)):
            number = value.get(key)
            if number is None:
                fail(f"lunar.{key}", "required")
                ok = False
            elif not _is_int(number) or not 1 <= number <= last:
                fail(f"lunar.{key}", f"expected a whole number from 1 to {last}, got {number!r}")
                ok = False
            else:
                parts[key] = number
        leap = value.get("leap", False)
        if not isinstance(leap, bool):
            fail("lunar.leap", f"expected true or false, got {_type_name(leap)}")
            ok = False
        if not ok:
            return None
        return LunarDay(month=parts["month"], day=parts["day"], leap=leap)

    @staticmethod
    def _read_origin_year(value: Any, fail) -> int | None:
        if value is None:
            return None
        if not _is_int(value) or not 1 <= value <= 9999:
            fail("origin_year", f"expected a year such as 1930, got {value!r}")
            return None
        return value

    @staticmethod
    def _check_lunar_origin(lunar: LunarDay, year: int, fail) -> None:
        """The historical lunar date must have existed (within the years the conversion
        knows; earlier ones are taken as written)."""
        if not lunar_calendar.FIRST_YEAR <= year <= lunar_calendar.LAST_YEAR:
            return
        try:
            lunar_calendar.to_solar(year, lunar.month, lunar.day, lunar.leap)
        except ValueError:
            month = lunar_calendar.find_month(year, lunar.month, lunar.leap)
            if month is None:
                actual = lunar_calendar.leap_month(year)
                fail("lunar.leap", f"lunar year {year} has no leap month {lunar.month} ("
                     + (f"its leap month is {actual})" if actual else "it has no leap month)"))
            else:
                fail("lunar.day", f"{'leap ' if lunar.leap else ''}month {lunar.month} of "
                                  f"lunar year {year} has "
                                  f"{month.length} days, not {lunar.day}")

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
    def _read_lead_days(value: Any, fail, key: str = "lead_days") -> tuple[int, ...] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not value:
            fail(key, f"expected a non-empty array of days, got {_type_name(value)}")
            return None
        bad = [v for v in value if not _is_int(v) or not 1 <= v <= MAX_LEAD_DAYS]
        if bad:
            fail(key, "each must be a positive integer number of days "
                      f"(1–{MAX_LEAD_DAYS}); got " + ", ".join(repr(v) for v in bad))
            return None
        if len(set(value)) != len(value):
            fail(key, "days repeat: " + ", ".join(str(v) for v in value))
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

    # --- Agencies and plan templates ------------------------------------------------------

    def _text(self, raw: dict[str, Any], key: str, fail, *, limit: int = 500) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            fail(key, f"expected a non-empty string, got {_type_name(value)}")
            return None
        if CONTROL_IN_LINE.search(value.strip()):
            fail(key, "control characters are not allowed (nor line breaks)")
            return None
        if len(value.strip()) > limit:
            fail(key, f"at most {limit} characters")
            return None
        return nfc(value.strip())

    def _strings(self, raw: dict[str, Any], key: str, fail, *, limit: int = 200
                 ) -> tuple[str, ...] | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            fail(key, "expected an array of non-empty strings")
            return None
        if any(CONTROL_IN_LINE.search(v) or len(v.strip()) > limit for v in value):
            fail(key, f"control characters are not allowed, and at most {limit} characters")
            return None
        found = tuple(nfc(v.strip()) for v in value)
        if len(set(found)) != len(found):
            fail(key, "repeats a value: " + ", ".join(found))
            return None
        return found

    def _check_keys(self, raw: dict[str, Any], allowed: set[str], required: Iterable[str],
                    fail, at) -> None:
        for key in raw:
            if key not in allowed:
                fail(key, f"unknown key{_suggest(key, allowed)}")
        for key in required:
            if key not in raw:
                self.problem(at(), key, "required")

    def _read_agency(self, index: int, raw: dict[str, Any]) -> Agency | None:
        at = lambda key=None: self.lines.line(AGENCY_TABLE, index, key)  # noqa: E731
        start = len(self.problems)

        def fail(key: str, message: str) -> None:
            self.problem(at(key), key, message)

        self._check_keys(raw, AGENCY_KEYS, AGENCY_REQUIRED, fail, at)
        ident = raw.get("id")
        if ident is not None:
            ident = self._claim_id(AGENCY_TABLE, index, ident, fail)
        name = self._text(raw, "name", fail)
        source = self._text(raw, "source", fail)
        short_names = self._strings(raw, "short_names", fail, limit=60)
        if short_names == ():
            fail("short_names", "give at least one short name (tables show the first)")
        role = raw.get("role")
        if role is not None and role not in ROLES:
            fail("role", f"unknown role {role!r}; expected one of " + ", ".join(ROLES))
        emails: tuple[str, ...] = ()
        raw_emails = self._strings(raw, "emails", fail, limit=320)
        for address in raw_emails or ():
            if not EMAIL.fullmatch(address):
                fail("emails", f"{address!r} is not an e-mail address")
        emails = raw_emails or ()
        webhook = self._text(raw, "webhook", fail, limit=2000)
        if webhook is not None and not webhook.startswith(("https://", "http://")):
            fail("webhook", f"expected an http(s):// URL, got {webhook!r}")
        if len(self.problems) > start:
            return None
        assert ident and name and short_names and role and source
        return Agency(id=ident, name=name, short_names=short_names, role=role, source=source,
                      emails=emails, webhook=webhook, source_file=self.path)

    def _read_template(self, index: int, raw: dict[str, Any]) -> PlanTemplate | None:
        at = lambda key=None: self.lines.line(TEMPLATE_TABLE, index, key)  # noqa: E731
        start = len(self.problems)

        def fail(key: str, message: str) -> None:
            self.problem(at(key), key, message)

        self._check_keys(raw, TEMPLATE_KEYS, TEMPLATE_REQUIRED, fail, at)
        ident = raw.get("id")
        if ident is not None:
            ident = self._claim_id(TEMPLATE_TABLE, index, ident, fail)
        name = self._text(raw, "name", fail)
        source = self._text(raw, "source", fail)
        categories = self._strings(raw, "categories", fail, limit=40)
        for slug in categories or ():
            if slug not in CATEGORIES:
                fail("categories", f"unknown category {slug!r}; expected one of "
                                   + ", ".join(sorted(CATEGORIES)))
        chosen = self._strings(raw, "commemorations", fail, limit=80)
        for ident_ in chosen or ():
            self._refer(at("commemorations"), "commemorations", ENTRY_TABLE, ident_)
        flags: dict[str, bool | None] = {}
        for key in ("round", "designated"):
            value = raw.get(key)
            if value is not None and not isinstance(value, bool):
                fail(key, f"expected true or false, got {_type_name(value)}")
            flags[key] = value if isinstance(value, bool) else None
        notice_days = self._read_lead_days(raw.get("notice_days"), fail, key="notice_days")
        activities = self._read_activities(index, raw.get("activity"), fail)
        if len(self.problems) > start:
            return None
        assert ident and name and activities is not None
        return PlanTemplate(
            id=ident, name=name, activities=activities,
            categories=frozenset(categories) if categories else None,
            round=flags["round"], designated=flags["designated"],
            commemorations=frozenset(chosen) if chosen else None,
            notice_days=notice_days or DEFAULT_NOTICE_DAYS, source=source,
            source_file=self.path)

    def _read_activities(self, template_index: int, raw: Any, fail
                         ) -> tuple[Activity, ...] | None:
        if raw is None:
            return None  # reported as a missing required key
        if not isinstance(raw, list) or not raw or not all(isinstance(a, dict) for a in raw):
            fail("activity", "expected one or more [[template.activity]] tables")
            return None
        # The line map numbers [[template.activity]] headers across the whole file.
        first = sum(len(t.get("activity") or []) if isinstance(t.get("activity"), list) else 0
                    for t in self._templates_before(template_index))
        found: list[Activity] = []
        keys: dict[str, int] = {}
        for offset, item in enumerate(raw):
            activity = self._read_activity(first + offset, item)
            if activity is None:
                continue
            if activity.key in keys:
                self.problem(self.lines.line(ACTIVITY_TABLE, first + offset, "kind"), "kind",
                             f"this template already gives {activity.agency!r} an activity of "
                             f"kind {activity.kind!r}")
                continue
            keys[activity.key] = offset
            found.append(activity)
        return tuple(found)

    def _templates_before(self, index: int) -> list[dict]:
        templates = self._parsed.get(TEMPLATE_TABLE) if self._parsed else None
        return [t for t in (templates or [])[:index] if isinstance(t, dict)]

    def _read_activity(self, index: int, raw: dict[str, Any]) -> Activity | None:
        at = lambda key=None: self.lines.line(ACTIVITY_TABLE, index, key)  # noqa: E731
        start = len(self.problems)

        def fail(key: str, message: str) -> None:
            self.problem(at(key), key, message)

        self._check_keys(raw, ACTIVITY_KEYS, ACTIVITY_REQUIRED, fail, at)
        kind = raw.get("kind")
        if kind is not None and kind not in ACTIVITY_KINDS:
            fail("kind", f"unknown kind {kind!r}; expected one of " + ", ".join(ACTIVITY_KINDS))
        title = self._text(raw, "title", fail, limit=300)
        if title is not None:
            try:
                unknown = [f for f in title_fields(title) if f not in TITLE_FIELDS]
            except ValueError as exc:
                fail("title", f"malformed pattern: {exc} (write {{occurrence}}, or {{{{ for a "
                              "brace)")
            else:
                if unknown:
                    fail("title", "unknown field " + ", ".join("{" + f + "}" for f in unknown)
                         + "; the fields are " + ", ".join("{" + f + "}" for f in TITLE_FIELDS))
        agency = raw.get("agency")
        if agency is not None:
            if not isinstance(agency, str):
                fail("agency", f"expected an agency id, got {_type_name(agency)}")
            else:
                self._refer(at("agency"), "agency", AGENCY_TABLE, agency)
        coordinating = self._strings(raw, "with", fail, limit=80) or ()
        for other in coordinating:
            self._refer(at("with"), "with", AGENCY_TABLE, other)
        if isinstance(agency, str) and agency in coordinating:
            fail("with", f"{agency!r} is already the responsible agency")
        offsets: dict[str, int | None] = {}
        for key in ("due", "from", "to"):
            value = raw.get(key)
            if value is not None and (not _is_int(value) or abs(value) > MAX_OFFSET_DAYS):
                fail(key, f"expected whole days from −{MAX_OFFSET_DAYS} to {MAX_OFFSET_DAYS} "
                          f"relative to the occurrence (−30: thirty days before), got {value!r}")
                value = None
            offsets[key] = value
        window = None
        if (raw.get("from") is None) != (raw.get("to") is None):
            fail("from" if raw.get("from") is None else "to",
                 "a run window needs both from and to")
        elif offsets["from"] is not None and offsets["to"] is not None:
            if offsets["from"] > offsets["to"]:
                fail("to", f"the window ends ({offsets['to']}) before it starts "
                           f"({offsets['from']})")
            window = (offsets["from"], offsets["to"])
        if len(self.problems) > start:
            return None
        assert kind and title and isinstance(agency, str) and offsets["due"] is not None
        return Activity(kind=kind, title=title, agency=agency, coordinating=coordinating,
                        due=offsets["due"], window=window)
