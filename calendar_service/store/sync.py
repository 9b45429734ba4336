"""`load`: bring the store in line with a validated catalogue, in one transaction.

- new ids are inserted (revision 1);
- changed entries are updated, with revision + 1 and a new `updated_at` (the feed's SEQUENCE
  and LAST-MODIFIED);
- entries that vanished from the files are marked cancelled, never deleted: calendars that
  subscribed must learn of the cancellation;
- a cancelled entry that comes back is restored, again with a new revision;
- loading the same catalogue twice changes nothing at all — revision and timestamps included —
  because each row keeps a fingerprint of the entry it was loaded from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalogue import Catalogue, Commemoration
from .models import ACTIVE, CANCELLED, CommemorationRow, DesignationRow, ObservanceRow
from .state import bump_data_version


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.cancelled or self.restored)

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.restored)} restored, {len(self.cancelled)} cancelled, "
                f"{self.unchanged} unchanged")


def fingerprint(c: Commemoration) -> str:
    """A hash of everything a subscriber could see; the file an entry lives in is not part
    of it, so moving an entry between files is not a change."""
    payload = {
        "title": c.title,
        "category": c.category,
        "origin": [c.origin_year, c.origin_month, c.origin_day],
        "description": c.description,
        "source": c.source,
        "location": c.location,
        "note": c.note,
        "aliases": list(c.aliases),
        "lead_days": list(c.lead_days) if c.lead_days is not None else None,
        "designated": sorted(c.designated_years),
        "observances": [[y, d.isoformat()] for y, d in sorted(c.observances)],
    }
    encoded = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _apply(row: CommemorationRow, c: Commemoration, digest: str) -> None:
    row.title = c.title
    row.category = c.category
    row.origin_year = c.origin_year
    row.origin_month = c.origin_month
    row.origin_day = c.origin_day
    row.description = c.description
    row.source = c.source
    row.location = c.location
    row.note = c.note
    row.aliases = list(c.aliases)
    row.lead_days = list(c.lead_days) if c.lead_days is not None else None
    row.fingerprint = digest
    row.source_file = c.source_file
    wanted_designations = sorted(c.designated_years)
    if [d.year for d in row.designations] != wanted_designations:
        row.designations = [DesignationRow(year=y) for y in wanted_designations]
    wanted_observances = sorted(c.observances)
    if [(o.year, o.observed_on) for o in row.observances] != wanted_observances:
        row.observances = [ObservanceRow(year=y, observed_on=d) for y, d in wanted_observances]


def sync_catalogue(session: Session, catalogue: Catalogue, now: datetime) -> SyncReport:
    """Apply the catalogue inside the caller's transaction (the caller commits or rolls back)."""
    report = SyncReport()
    existing = {row.id: row for row in session.scalars(select(CommemorationRow))}
    for c in catalogue.commemorations:
        digest = fingerprint(c)
        row = existing.pop(c.id, None)
        if row is None:
            row = CommemorationRow(id=c.id, status=ACTIVE, revision=1,
                                   created_at=now, updated_at=now)
            _apply(row, c, digest)
            session.add(row)
            report.added.append(c.id)
            continue
        if row.fingerprint == digest and row.status == ACTIVE:
            if row.source_file != c.source_file:
                row.source_file = c.source_file  # bookkeeping only: no new revision
            report.unchanged += 1
            continue
        (report.restored if row.status == CANCELLED else report.updated).append(c.id)
        _apply(row, c, digest)
        row.status = ACTIVE
        row.revision += 1
        row.updated_at = now
    for row in existing.values():
        if row.status == CANCELLED:
            continue
        row.status = CANCELLED
        row.revision += 1
        row.updated_at = now
        report.cancelled.append(row.id)
    if report.changed:
        bump_data_version(session, now)
    return report
