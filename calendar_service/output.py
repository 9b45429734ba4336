"""Occurrences as the command line shows them: a Vietnamese table, or stable JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .anniversaries import Occurrence
from .vietnamese import official_date, weekday

ROUND_LABELS = {2: "năm tròn", 1: "năm chẵn"}  # Nghị định 145/2013: ends in 0 / ends in 5


def flags(occ: Occurrence) -> list[str]:
    out = []
    if occ.designated:
        out.append("theo chỉ thị")
    if occ.round_rank:
        out.append(ROUND_LABELS[occ.round_rank])
    if occ.observed:
        out.append("ngày tổ chức được chọn")
    if occ.shifted:
        out.append("29/02 → 28/02")
    return out


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
        "origin": c.origin.isoformat() if c.origin else str(c.origin_year),
        "precision": str(c.precision),
        "designated": occ.designated,
        "round": occ.is_round,
        "round_rank": occ.round_rank,
        "observed": occ.observed,
        "to_be_decided": occ.to_be_decided,
        "leap_day_shifted": occ.shifted,
    }


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
