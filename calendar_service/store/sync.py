"""`load`: bring the store in line with a validated catalogue, in one transaction.

- new ids are inserted (revision 1);
- changed entries are updated, with revision + 1 and a new `updated_at` (the feed's SEQUENCE
  and LAST-MODIFIED);
- entries that vanished from the files are marked cancelled, never deleted: calendars that
  subscribed must learn of the cancellation;
- a cancelled entry that comes back is restored, again with a new revision;
- an administrator's edits and cancellations (the admin area) do not touch the fingerprint,
  so they survive a reload of the unchanged file; an entry whose text in the file changed
  overwrites them (the file is then the newest change);
- loading the same catalogue twice changes nothing at all — revision and timestamps included —
  because each row keeps a fingerprint of the entry it was loaded from.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import JSON, delete, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..catalogue import Agency, Catalogue, CatalogueFile, Commemoration, PlanTemplate
from .models import (
    ACTIVE,
    CANCELLED,
    AgencyRow,
    CommemorationRow,
    DesignationRow,
    DirectiveRow,
    ObservanceRow,
    PlanTemplateRow,
    RenameRow,
)
from .state import bump_data_version


@dataclass
class SyncReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: int = 0
    agencies: AgencyReport | None = None  # None: the load held no [[agency]] tables
    templates: int | None = None  # plan templates now stored; None: the load held none

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.cancelled or self.restored)

    def summary(self) -> str:
        text = (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.restored)} restored, {len(self.cancelled)} cancelled, "
                f"{self.unchanged} unchanged")
        if self.agencies is not None:
            text += f"; agencies: {self.agencies.summary()}"
        if self.templates is not None:
            text += f"; {self.templates} plan templates"
        return text


@dataclass
class AgencyReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    unchanged: int = 0

    def summary(self) -> str:
        return (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.deactivated)} no longer in the files, {self.unchanged} unchanged")


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
        "designated": [[d.year, d.directive, d.ordinal] for d in c.designations],
        "observances": [[y, d.isoformat()] for y, d in sorted(c.observances)],
        "scope": c.scope,
    }
    if c.lunar is not None:  # only then, so that a solar entry's fingerprint stays as it was
        payload["lunar"] = [c.lunar.month, c.lunar.day, c.lunar.leap]
    encoded = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _fields(c: Commemoration, digest: str) -> dict:
    return {
        "title": c.title,
        "category": c.category,
        "origin_year": c.origin_year,
        "origin_month": c.origin_month,
        "origin_day": c.origin_day,
        "lunar_month": c.lunar.month if c.lunar else None,
        "lunar_day": c.lunar.day if c.lunar else None,
        "lunar_leap": c.lunar.leap if c.lunar else False,
        "description": c.description,
        "source": c.source,
        "location": c.location,
        "note": c.note,
        "aliases": list(c.aliases),
        "lead_days": list(c.lead_days) if c.lead_days is not None else None,
        "scope": c.scope,
        "fingerprint": digest,
        "source_file": c.source_file,
    }


def bulk_insert(session: Session, model: type, rows: list[dict]) -> None:
    """Insert many rows at driver speed: COPY on PostgreSQL, executemany on SQLite.

    The ORM's bulk insert spends most of a 10,000-entry load on per-row bookkeeping (and on
    psycopg 3, a round trip per row); here values go through each column's own bind
    processing (UTC datetimes, JSON) and straight to the driver.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    table = model.__table__
    columns = [c for c in table.columns if c.key in rows[0]]
    processors = [
        (lambda v: None if v is None else json.dumps(v, ensure_ascii=False))
        if isinstance(c.type, JSON) else c.type.bind_processor(dialect)
        for c in columns]
    values = ([process(row[c.key]) if process else row[c.key]
               for c, process in zip(columns, processors)] for row in rows)
    names = ", ".join(dialect.identifier_preparer.quote(c.name) for c in columns)
    if dialect.name == "postgresql":
        statement = f"COPY {table.name} ({names}) FROM STDIN"
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            with cursor.copy(statement) as copy:
                for row in values:
                    copy.write_row(row)
        except dialect.loaded_dbapi.Error as exc:
            # Surface driver errors as SQLAlchemy's, like every other statement here.
            raise DBAPIError.instance(statement, None, exc, dialect.loaded_dbapi.Error) from exc
    elif dialect.name == "sqlite":
        marks = ", ".join("?" * len(columns))
        connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({marks})",
                                   [tuple(row) for row in values])
    else:  # pragma: no cover - other backends are not supported targets
        session.execute(insert(model), rows)


def _chunks(items: list, size: int = 500):
    # Bounded IN (...) lists: SQLite and PostgreSQL both cap bound parameters.
    for i in range(0, len(items), size):
        yield items[i:i + size]


def sync_catalogue(session: Session, catalogue: Catalogue, now: datetime) -> SyncReport:
    """Apply the catalogue inside the caller's transaction (the caller commits or rolls back).

    Only the (id, fingerprint, status, source_file) of existing rows are read; new rows are
    inserted in bulk; full rows are loaded only for the entries that really changed. That
    keeps a reload of an unchanged 10,000-entry catalogue to one narrow query.
    """
    report = SyncReport()
    existing = {
        ident: (digest, status, source_file, by_admin)
        for ident, digest, status, source_file, by_admin in session.execute(select(
            CommemorationRow.id, CommemorationRow.fingerprint, CommemorationRow.status,
            CommemorationRow.source_file, CommemorationRow.cancelled_by_admin))
    }
    new_rows: list[dict] = []
    new_designations: list[dict] = []
    new_observances: list[dict] = []
    changed: dict[str, tuple[Commemoration, str]] = {}
    moved: dict[str, str | None] = {}
    for c in catalogue.commemorations:
        digest = fingerprint(c)
        previous = existing.pop(c.id, None)
        if previous is None:
            new_rows.append({"id": c.id, **_fields(c, digest), "status": ACTIVE, "revision": 1,
                             "cancelled_by_admin": False, "created_at": now, "updated_at": now})
            new_designations += [{"commemoration_id": c.id, "directive_id": d.directive,
                                  "year": d.year, "ordinal": d.ordinal}
                                 for d in c.designations]
            new_observances += [{"commemoration_id": c.id, "year": y, "observed_on": d}
                                 for y, d in sorted(c.observances)]
            report.added.append(c.id)
        elif previous[0] == digest and (previous[1] == ACTIVE or previous[3]):
            # Same entry as last loaded; an administrator's cancellation stands.
            report.unchanged += 1
            if previous[2] != c.source_file:
                moved[c.id] = c.source_file  # bookkeeping only: no new revision
        else:
            changed[c.id] = (c, digest)

    # Directives before the designations that refer to them; stale ones go at the end.
    directives_changed = _sync_directives(session, catalogue)
    bulk_insert(session, CommemorationRow, new_rows)
    bulk_insert(session, DesignationRow, new_designations)
    bulk_insert(session, ObservanceRow, new_observances)
    for ident, source_file in moved.items():
        session.execute(update(CommemorationRow).where(CommemorationRow.id == ident)
                        .values(source_file=source_file))

    for ids in _chunks(sorted(changed)):
        for row in session.scalars(select(CommemorationRow).where(CommemorationRow.id.in_(ids))):
            c, digest = changed[row.id]
            fields = _fields(c, digest)
            wanted = [(d.year, d.directive, d.ordinal) for d in c.designations]
            wanted_obs = sorted(c.observances)
            same_designations = sorted((d.year, d.directive_id, d.ordinal)
                                       for d in row.designations) == sorted(wanted)
            same_observances = [(o.year, o.observed_on) for o in row.observances] == wanted_obs
            if row.status == ACTIVE and same_designations and same_observances and all(
                    getattr(row, name) == value for name, value in fields.items()
                    if name not in ("fingerprint", "source_file")):
                # The file now says what the row already holds (an admin's edit, then the
                # admin's export loaded): adopt the entry, subscribers see no change.
                row.fingerprint, row.source_file = digest, c.source_file
                report.unchanged += 1
                continue
            (report.restored if row.status == CANCELLED else report.updated).append(row.id)
            for name, value in fields.items():
                setattr(row, name, value)
            if not same_designations:
                row.designations = [DesignationRow(year=y, directive_id=directive, ordinal=n)
                                    for y, directive, n in wanted]
            if not same_observances:
                row.observances = [ObservanceRow(year=y, observed_on=d) for y, d in wanted_obs]
            row.status = ACTIVE
            row.cancelled_by_admin = False
            row.revision += 1
            row.updated_at = now
    report.updated.sort()
    report.restored.sort()

    vanished = sorted(ident for ident, (_, status, _, _) in existing.items() if status == ACTIVE)
    for ids in _chunks(vanished):
        session.execute(
            update(CommemorationRow).where(CommemorationRow.id.in_(ids))
            .values(status=CANCELLED, revision=CommemorationRow.revision + 1, updated_at=now)
            .execution_options(synchronize_session=False))
    report.cancelled = vanished
    # Gone from the files too: the file's removal now holds the cancellation, so an entry
    # that comes back later is restored like any other (bookkeeping only, no new revision).
    handed_over = sorted(ident for ident, (_, _, _, by_admin) in existing.items() if by_admin)
    for ids in _chunks(handed_over):
        session.execute(
            update(CommemorationRow).where(CommemorationRow.id.in_(ids))
            .values(cancelled_by_admin=False).execution_options(synchronize_session=False))
    directives_changed |= _drop_stale_directives(session, catalogue)
    renames_changed = _sync_renames(session, catalogue)
    if catalogue.agencies:
        report.agencies = _sync_agencies(session, catalogue.agencies, now)
    if catalogue.templates:
        report.templates = _sync_templates(session, catalogue.templates)
    if report.changed or directives_changed or renames_changed:
        # A directive's wording or a rename shows in feeds and pages too.
        bump_data_version(session, now)
    return report


def _agency_fields(a: Agency) -> dict:
    return {"name": a.name, "short_names": list(a.short_names), "role": a.role,
            "source": a.source, "emails": list(a.emails), "webhook_url": a.webhook,
            "source_file": a.source_file, "active": True}


def _sync_agencies(session: Session, agencies: tuple[Agency, ...], now: datetime
                   ) -> AgencyReport:
    """Agencies as the files say; one gone from the files is kept (tasks and accounts refer
    to it) but marked inactive. A handful of rows: compared one by one."""
    report = AgencyReport()
    wanted = {a.id: a for a in agencies}
    for row in session.scalars(select(AgencyRow).order_by(AgencyRow.id)):
        agency = wanted.pop(row.id, None)
        if agency is None:
            if row.active:
                row.active, row.updated_at = False, now
                report.deactivated.append(row.id)
            continue
        fields = _agency_fields(agency)
        if all(getattr(row, name) == value for name, value in fields.items()):
            report.unchanged += 1
            continue
        for name, value in fields.items():
            setattr(row, name, value)
        row.updated_at = now
        report.updated.append(row.id)
    for ident, agency in wanted.items():
        session.add(AgencyRow(id=ident, feed_token=new_feed_token(), created_at=now,
                              updated_at=now, **_agency_fields(agency)))
        report.added.append(ident)
    report.added.sort()
    return report


def new_feed_token() -> str:
    """The secret part of an agency's private task-feed address."""
    return secrets.token_urlsafe(24)


def template_definition(t: PlanTemplate) -> dict:
    """A template as JSON (queries.template_from reads it back)."""
    return {
        "categories": sorted(t.categories) if t.categories is not None else None,
        "round": t.round, "designated": t.designated,
        "commemorations": sorted(t.commemorations) if t.commemorations is not None else None,
        "notice_days": list(t.notice_days), "source": t.source,
        "activities": [{"kind": a.kind, "title": a.title, "agency": a.agency,
                        "with": list(a.coordinating), "due": a.due,
                        "window": list(a.window) if a.window is not None else None}
                       for a in t.activities],
    }


def _sync_templates(session: Session, templates: tuple[PlanTemplate, ...]) -> int:
    """The templates as the files say, in their order (the first that applies wins)."""
    session.execute(delete(PlanTemplateRow))
    session.add_all(PlanTemplateRow(id=t.id, position=n, name=t.name,
                                    definition=template_definition(t),
                                    source_file=t.source_file)
                    for n, t in enumerate(templates))
    return len(templates)


def _directive_values(f: CatalogueFile) -> dict:
    return {"year": f.designates, "directive": f.directive, "theme": f.theme, "name": f.name,
            "source": f.source, "scope": f.scope, "source_file": f.path}


def _sync_directives(session: Session, catalogue: Catalogue) -> bool:
    """Add and update the directives (the [catalogue] headers of the files that designate a
    year), before the designations that refer to them. A handful of rows: compared and
    written one by one. True if anything changed."""
    wanted = {f.id: _directive_values(f) for f in catalogue.directives}
    changed = False
    for row in session.scalars(select(DirectiveRow)):
        values = wanted.pop(row.id, None)
        if values is None:
            continue  # dropped by _drop_stale_directives, once no designation needs it
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
    session.add_all(DirectiveRow(id=ident, **values) for ident, values in wanted.items())
    session.flush()
    return changed or bool(wanted)


def _drop_stale_directives(session: Session, catalogue: Catalogue) -> bool:
    """Directives gone from the files, with what designations still named them (those of
    entries gone too: cancelled, their designation no longer stands)."""
    keep = {f.id for f in catalogue.directives}
    stale = [ident for ident in session.scalars(select(DirectiveRow.id)) if ident not in keep]
    if not stale:
        return False
    session.flush()
    session.execute(delete(DesignationRow).where(DesignationRow.directive_id.in_(stale))
                    .execution_options(synchronize_session=False))
    session.execute(delete(DirectiveRow).where(DirectiveRow.id.in_(stale))
                    .execution_options(synchronize_session=False))
    session.expire_all()
    return True


def _sync_renames(session: Session, catalogue: Catalogue) -> bool:
    """The renames as the files say, replaced whole when they differ. True if changed."""
    wanted = sorted((r.old, r.new, r.since, r.kind, r.source, r.source_file)
                    for r in catalogue.renames)
    rows = session.scalars(select(RenameRow)).all()
    if sorted((r.old, r.new, r.since, r.kind, r.source, r.source_file) for r in rows) == wanted:
        return False
    session.execute(delete(RenameRow))
    session.add_all(RenameRow(old=old, new=new, since=since, kind=kind, source=source,
                              source_file=source_file)
                    for old, new, since, kind, source, source_file in wanted)
    return True
