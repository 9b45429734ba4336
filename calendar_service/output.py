"""Occurrences as the command line shows them: a Vietnamese table, or stable JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .anniversaries import Occurrence
from .catalogue import Commemoration
from .catalogue.model import Designation
from .vietnamese import official_date, weekday

ROUND_LABELS = {2: "năm tròn", 1: "năm chẵn"}  # Nghị định 145/2013: ends in 0 / ends in 5


def flags(occ: Occurrence) -> list[str]:
    out = []
    if occ.lunar_label:
        out.append(occ.lunar_label)
    if occ.designated:
        out.append("theo chỉ thị")
    if occ.round_rank:
        out.append(ROUND_LABELS[occ.round_rank])
    if occ.observed:
        out.append("ngày tổ chức được chọn")
    if occ.shifted and occ.commemoration.lunar is not None:
        out.append(f"{occ.commemoration.lunar.label} không có năm nay")
    elif occ.shifted:
        out.append("29/02 → 28/02")
    return out


def designation_dict(d: Designation) -> dict:
    return {"directive": d.directive, "year": d.year, "ordinal": d.ordinal, "label": d.label,
            "title": d.title}


def occurrence_dict(occ: Occurrence) -> dict:
    c = occ.commemoration
    return {
        "id": c.id,
        "year": occ.year,
        "date": occ.date.isoformat() if occ.date else None,
        "weekday": weekday(occ.date) if occ.date else None,
        "ordinal": occ.ordinal,
        "title": occ.title,
        "commemoration": c.title,
        "category": c.category,
        "scope": c.scope,
        "origin": c.origin_key,
        "precision": str(c.precision),
        "lunar": lunar_dict(occ),
        "designated": occ.designated,
        "designated_by": [designation_dict(d) for d in occ.designated_by],
        "round": occ.is_round,
        "round_rank": occ.round_rank,
        "observed": occ.observed,
        "to_be_decided": occ.to_be_decided,
        "leap_day_shifted": occ.shifted and occ.lunar is None,
        "lunar_shifted": occ.shifted and occ.lunar is not None,
    }


def lunar_dict(occ: Occurrence) -> dict | None:
    """The lunar date of the occurrence's day, for a lunar origin."""
    if occ.lunar is None:
        return None
    return {"year": occ.lunar.year, "month": occ.lunar.month, "day": occ.lunar.day,
            "leap": occ.lunar.leap, "label": occ.lunar_label}


def lunar_origin_dict(c: Commemoration) -> dict | None:
    """A lunar origin: its day, month and leap flag (the year is `origin_year`)."""
    if c.lunar is None:
        return None
    return {"month": c.lunar.month, "day": c.lunar.day, "leap": c.lunar.leap,
            "label": c.lunar.label}


def to_json(occs: Sequence[Occurrence]) -> str:
    return json.dumps([occurrence_dict(o) for o in occs], ensure_ascii=False, indent=2)


def to_table(occs: Sequence[Occurrence]) -> str:
    header = ("Ngày", "Thứ", "Kỷ niệm", "Ghi chú")
    rows = []
    for o in occs:
        if o.date is None:
            rows.append((f"năm {o.year}", "—", o.title, ", ".join(["chưa xác định ngày", *flags(o)])))
        else:
            rows.append((official_date(o.date), weekday(o.date), o.title, ", ".join(flags(o))))
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(3)]
    lines = []
    for r in (header, *rows):
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3])
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 8)
    return "\n".join(line.rstrip() for line in lines)
