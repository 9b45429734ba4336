"""Export the store's active commemorations back to catalogue TOML that `check` accepts.

One file per designated year, `YEAR.toml`, with that year's [catalogue] header as last
loaded (the `directives` table). One year gives one `.toml` download; several give a `.zip`
of them. Cancelled commemorations are left out: in the catalogue, "not in the files" is
what cancelled means, so loading the export keeps them cancelled.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from itertools import groupby
from typing import Any

import tomli_w
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalogue import Commemoration
from ..catalogue.model import ordinal
from ..store import list_commemorations
from ..store.models import DirectiveRow


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


def entry(c: Commemoration, year: int, default_source: str | None) -> dict[str, Any]:
    """One [[commemoration]] table, keys in the order people write them."""
    table: dict[str, Any] = {"id": c.id, "title": c.title}
    if c.aliases:
        table["aliases"] = list(c.aliases)
    if c.lunar is not None:  # lunar = { month, day }, origin_year only when known
        table["lunar"] = {"month": c.lunar.month, "day": c.lunar.day}
        if c.lunar.leap:
            table["lunar"]["leap"] = True
        if c.origin_year is not None:
            table["origin_year"] = c.origin_year
            table["ordinal"] = ordinal(c.origin_year, year)
    else:
        table["origin"] = c.origin if c.origin is not None else c.origin_year
        table["ordinal"] = ordinal(c.origin_year, year)
    table["category"] = c.category
    if c.location:
        table["location"] = c.location
    table["description"] = c.description
    if c.source != default_source:
        table["source"] = c.source
    if c.lead_days is not None:
        table["lead_days"] = list(c.lead_days)
    if (observed := c.observed_on(year)) is not None:
        table["observed_on"] = observed
    if others := [d for y, d in c.observances if y != year]:
        table["observances"] = others
    if c.note:
        table["note"] = c.note
    return table


def _header_comment(year: int, now: datetime) -> str:
    return (f"# Commemorations designated for {year}, exported from calendar-service on "
            f"{now:%Y-%m-%d %H:%M %z}.\n"
            f"# Format: README.md, \"The catalogue format\". "
            f"Check with: calendar-service check {year}.toml\n\n")


def export_files(session: Session, now: datetime) -> list[ExportFile]:
    """The catalogue files, by designated year (raises ExportError)."""
    active = [s.commemoration for s in list_commemorations(session)]
    if not active:
        raise ExportError("Chưa có ngày kỷ niệm nào để xuất.")
    odd = [c.id for c in active if len(c.designated_years) != 1]
    if odd:  # the format gives each entry exactly one file, hence one designated year
        raise ExportError("Không xuất được: mỗi ngày kỷ niệm cần đúng một năm theo chỉ thị; "
                          "không đúng ở " + ", ".join(odd) + ".")
    headers = {d.year: d for d in session.scalars(select(DirectiveRow))}
    by_year = sorted(active, key=lambda c: (min(c.designated_years), c.id))
    files = []
    for year, group in groupby(by_year, key=lambda c: min(c.designated_years)):
        header = headers.get(year)
        if header is None:
            raise ExportError(f"Chưa có phần [catalogue] của chỉ thị năm {year} (dữ liệu nạp "
                              "trước khi có chức năng xuất): chạy lệnh calendar-service load "
                              "một lần để ghi lại.")
        document: dict[str, Any] = {"catalogue": {
            "designates": year, "directive": header.directive, "theme": header.theme}}
        if header.source:
            document["catalogue"]["source"] = header.source
        document["commemoration"] = [entry(c, year, header.source) for c in group]
        files.append(ExportFile(f"{year}.toml",
                                _header_comment(year, now) + tomli_w.dumps(document)))
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
