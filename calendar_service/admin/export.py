"""Export the store's active commemorations back to catalogue TOML that `check` accepts.

One file per file loaded (by name): a directive's with its [catalogue] header as last loaded
(the `directives` table) and [[designation]] tables for what it names from other files; a
standing list with its entries; renames where they were. One file gives one `.toml` download;
several give a `.zip` of them. Cancelled commemorations are left out: in the catalogue, "not in the files" is
what cancelled means, so loading the export keeps them cancelled.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

import tomli_w
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalogue import Commemoration
from ..catalogue.model import DEFAULT_SCOPE, default_directive_id, ordinal
from ..store import list_commemorations
from ..store.models import DirectiveRow
from ..store.queries import renames


class ExportError(Exception):
    """The store cannot be written as a valid catalogue; the message says why (Vietnamese)."""


@dataclass(frozen=True, slots=True)
class ExportFile:
    name: str
    text: str


@dataclass(frozen=True, slots=True)
class Download:
    filename: str
    mimetype: str
    body: bytes


def entry(c: Commemoration, year: int | None, default_source: str | None) -> dict[str, Any]:
    """One [[commemoration]] table, keys in the order people write them. `year`: the year
    its file designates (None in a standing list)."""
    table: dict[str, Any] = {"id": c.id, "title": c.title}
    if c.aliases:
        table["aliases"] = list(c.aliases)
    if c.lunar is not None:  # lunar = { month, day }, origin_year only when known
        table["lunar"] = {"month": c.lunar.month, "day": c.lunar.day}
        if c.lunar.leap:
            table["lunar"]["leap"] = True
        if c.origin_year is not None:
            table["origin_year"] = c.origin_year
    else:
        table["origin"] = c.origin if c.origin is not None else c.origin_year
    if year is not None and c.origin_year is not None:
        table["ordinal"] = ordinal(c.origin_year, year)
    table["category"] = c.category
    if c.scope != DEFAULT_SCOPE:
        table["scope"] = c.scope
    if c.location:
        table["location"] = c.location
    table["description"] = c.description
    if c.source != default_source:
        table["source"] = c.source
    if c.lead_days is not None:
        table["lead_days"] = list(c.lead_days)
    if year is not None and (observed := c.observed_on(year)) is not None:
        table["observed_on"] = observed
    if others := [d for y, d in c.observances if y != year]:
        table["observances"] = others
    if c.note:
        table["note"] = c.note
    return table


def _header_comment(name: str, what: str, now: datetime) -> str:
    return (f"# {what}, exported from calendar-service on {now:%Y-%m-%d %H:%M %z}.\n"
            f"# Format: README.md, \"The catalogue format\". "
            f"Check with: calendar-service check {name}\n\n")


def _file_name(path: str | None, fallback: str, taken: set[str]) -> str:
    name = PurePath(path).name if path else fallback
    stem, n = name.removesuffix(".toml"), 2
    while name in taken:  # two loaded files of one name, in different folders
        name, n = f"{stem}-{n}.toml", n + 1
    taken.add(name)
    return name


def export_files(session: Session, now: datetime) -> list[ExportFile]:
    """The catalogue files as they were loaded (raises ExportError): each directive's file
    with its [catalogue] header, the entries defined there and [[designation]] tables for
    the entries it names that are defined elsewhere; each standing list with its entries;
    the renames in the file they came from."""
    active = [s.commemoration for s in list_commemorations(session)]
    if not active:
        raise ExportError("Chưa có ngày kỷ niệm nào để xuất.")
    directives = list(session.scalars(select(DirectiveRow).order_by(DirectiveRow.year,
                                                                   DirectiveRow.id)))
    documents: dict[str, dict[str, Any]] = {}  # by the loaded file's path
    owner: dict[str, DirectiveRow] = {}
    for d in directives:
        header: dict[str, Any] = {"designates": d.year, "directive": d.directive,
                                  "theme": d.theme}
        if d.id != default_directive_id(d.year):
            header["id"] = d.id
        if d.name:
            header["name"] = d.name
        if d.source:
            header["source"] = d.source
        if d.scope != DEFAULT_SCOPE:
            header["scope"] = d.scope
        key = d.source_file or f"{d.year}.toml"
        if key not in documents:
            owner[key] = d
            documents[key] = {"catalogue": header}
    file_of = {row.id: key for key, row in owner.items()}
    for c in sorted(active, key=lambda c: c.id):
        key = c.source_file or "catalogue.toml"
        document = documents.get(key)
        if document is None:  # a standing list: no header was stored beyond its name
            document = documents[key] = {"catalogue": {
                "name": PurePath(key).stem.replace("-", " ").capitalize()}}
        directive = owner.get(key)
        header = document["catalogue"]
        document.setdefault("commemoration", []).append(
            entry(c, directive.year if directive else None, header.get("source")))
        for d in c.designations:
            if directive is None or d.directive != directive.id:
                target = file_of.get(d.directive)
                if target is None:
                    raise ExportError(f"Không xuất được: chỉ thị {d.directive} của "
                                      f"{c.id} không còn trong dữ liệu.")
                documents[target].setdefault("designation", []).append(
                    {"id": c.id, "ordinal": d.ordinal})
    for r in renames(session):
        documents.setdefault(r.source_file or "renames.toml", {}).setdefault("rename", []).append(
            {"old": r.old, "new": r.new, "since": r.since, "kind": r.kind, "source": r.source})
    files, taken = [], set()
    for key, document in documents.items():
        if not document.get("commemoration") and not document.get("designation") \
                and not document.get("rename"):
            continue  # a directive whose entries were all cancelled
        if "catalogue" in document and not document.get("commemoration") \
                and not document.get("designation"):
            del document["catalogue"]  # renames alone
        directive = owner.get(key)
        name = _file_name(key, f"{directive.year}.toml" if directive else "catalogue.toml",
                          taken)
        what = (f"Commemorations designated for {directive.year}" if directive
                else "A standing list of commemorations" if "catalogue" in document
                else "Renames of places and agencies")
        # tomli_w writes short tables inline, ahead of [catalogue]; a designation reads
        # better as its own [[designation]] table (ids are slugs, ordinals integers).
        designations = document.pop("designation", [])
        text = tomli_w.dumps(document) + "".join(
            f'\n[[designation]]\nid = "{d["id"]}"\nordinal = {d["ordinal"]}\n'
            for d in designations)
        files.append(ExportFile(name, _header_comment(name, what, now) + text))
    files.sort(key=lambda f: f.name)
    return files


def download(files: list[ExportFile], now: datetime) -> Download:
    """A single file as is; several as one zip."""
    if len(files) == 1:
        return Download(files[0].name, "application/toml", files[0].text.encode("utf-8"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for f in files:
            info = zipfile.ZipInfo(f.name, date_time=now.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, f.text.encode("utf-8"))
    return Download(f"catalogue-{now:%Y%m%d}.zip", "application/zip", buffer.getvalue())
