"""The store, on SQLite always and on PostgreSQL when CALENDAR_TEST_DATABASE_URL is set."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from calendar_service.anniversaries import occurrences
from calendar_service.catalogue import Catalogue, Commemoration, load_catalogue
from calendar_service.store import (
    data_version,
    get_commemoration,
    list_commemorations,
    occurrences_between,
    sync_catalogue,
)
from calendar_service.store.models import (
    CommemorationRow,
    DesignationRow,
    ObservanceRow,
)

T0 = datetime(2024, 1, 10, 1, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(days=1)


def snapshot(database) -> list[tuple]:
    """Every row of every catalogue table, to prove that nothing changed."""
    with database.session() as s:
        rows = [tuple((c.name, getattr(r, c.key)) for c in CommemorationRow.__table__.columns)
                for r in s.scalars(select(CommemorationRow).order_by(CommemorationRow.id))]
        rows += [(d.commemoration_id, d.year) for d in s.scalars(select(DesignationRow))]
        rows += [(o.commemoration_id, o.year, o.observed_on) for o in s.scalars(select(ObservanceRow))]
        rows.append(data_version(s))
    return rows


def sync(database, catalogue: Catalogue, now: datetime = T0):
    with database.session() as s:
        return sync_catalogue(s, catalogue, now)


def edited(catalogue: Catalogue, ident: str, **changes) -> Catalogue:
    from dataclasses import replace

    return Catalogue(catalogue.files, tuple(
        replace(c, **changes) if c.id == ident else c for c in catalogue.commemorations))


def without(catalogue: Catalogue, ident: str) -> Catalogue:
    return Catalogue(catalogue.files, tuple(c for c in catalogue.commemorations if c.id != ident))


@pytest.fixture
def catalogue(events_2024):
    return load_catalogue([events_2024])


def test_load_inserts_every_commemoration(database, catalogue):
    report = sync(database, catalogue)
    assert len(report.added) == 12 and report.changed
    with database.session() as s:
        stored = list_commemorations(s)
        assert [c.commemoration for c in stored] == list(catalogue.commemorations)
        assert all(c.revision == 1 and c.updated_at == T0 for c in stored)
        assert data_version(s) == (1, T0)
        thu = get_commemoration(s, "me-nguyen-thi-thu").commemoration
        assert thu.observed_on(2024) == date(2024, 7, 27)


def test_every_field_survives_the_bulk_insert(database, catalogue):
    catalogue = edited(catalogue, "tran-phu", lead_days=(45, 7), note="Ghi chú: \"trích\" \\ dẫn",
                       aliases=("Lý Quý",), location=None)
    sync(database, catalogue)
    with database.session() as s:
        assert [c.commemoration for c in list_commemorations(s)] == list(catalogue.commemorations)
        assert get_commemoration(s, "tran-phu").commemoration.lead_days == (45, 7)


def test_loading_twice_changes_nothing(database, catalogue):
    sync(database, catalogue)
    before = snapshot(database)
    report = sync(database, catalogue, T1)
    assert not report.changed and report.unchanged == 12
    assert snapshot(database) == before


def test_a_change_bumps_revision_and_updated_at(database, catalogue):
    sync(database, catalogue)
    report = sync(database, edited(catalogue, "tran-phu", description="Mô tả mới."), T1)
    assert report.updated == ["tran-phu"]
    with database.session() as s:
        changed = get_commemoration(s, "tran-phu")
        untouched = get_commemoration(s, "dien-bien-phu")
        assert (changed.revision, changed.updated_at) == (2, T1)
        assert changed.commemoration.description == "Mô tả mới."
        assert (untouched.revision, untouched.updated_at) == (1, T0)
        assert data_version(s) == (2, T1)


def test_setting_an_observance_is_a_change(database, catalogue):
    sync(database, catalogue)
    report = sync(database, edited(catalogue, "huynh-ngoc-hue",
                                   observances=((2024, date(2024, 8, 9)),)), T1)
    assert report.updated == ["huynh-ngoc-hue"]
    with database.session() as s:
        found = {o.id: o for o in occurrences_between(s, date(2024, 8, 1), date(2024, 8, 31))}
    assert found["huynh-ngoc-hue"].date == date(2024, 8, 9)


def test_vanished_entries_are_cancelled_not_deleted_and_can_come_back(database, catalogue):
    sync(database, catalogue)
    report = sync(database, without(catalogue, "thuong-duc"), T1)
    assert report.cancelled == ["thuong-duc"]
    with database.session() as s:
        gone = get_commemoration(s, "thuong-duc")
        assert (gone.status, gone.revision, gone.updated_at) == ("cancelled", 2, T1)
        assert "thuong-duc" not in {c.commemoration.id for c in list_commemorations(s)}
        assert "thuong-duc" in {c.commemoration.id
                                for c in list_commemorations(s, include_cancelled=True)}
        assert all(o.id != "thuong-duc"
                   for o in occurrences_between(s, date(2024, 1, 1), date(2024, 12, 31)))
    # Cancelling again is not a change.
    assert not sync(database, without(catalogue, "thuong-duc"), T1 + timedelta(hours=1)).changed
    report = sync(database, catalogue, T1 + timedelta(days=1))
    assert report.restored == ["thuong-duc"]
    with database.session() as s:
        back = get_commemoration(s, "thuong-duc")
        assert (back.status, back.revision) == ("active", 3)


def test_a_failing_load_leaves_the_database_exactly_as_it_was(database, catalogue):
    sync(database, catalogue)
    before = snapshot(database)
    # A real failure inside the database, half-way through the sync: a trigger rejects one row.
    with database.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(text(
                "CREATE TRIGGER reject BEFORE INSERT ON commemorations "
                "WHEN NEW.id = 'zz-rejected' BEGIN SELECT RAISE(ABORT, 'rejected'); END"))
        else:
            conn.execute(text(
                "CREATE FUNCTION reject() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.id = 'zz-rejected' THEN RAISE EXCEPTION 'rejected'; END IF; "
                "RETURN NEW; END $$"))
            conn.execute(text("CREATE TRIGGER reject BEFORE INSERT ON commemorations "
                              "FOR EACH ROW EXECUTE FUNCTION reject()"))
    extra = Commemoration(id="zz-rejected", title="X", category="victory", origin_year=1950,
                          origin_month=1, origin_day=1, description="X", source="X")
    changed = edited(without(catalogue, "thuong-duc"), "tran-phu", title="Đổi tên")
    changed = Catalogue(changed.files, (*changed.commemorations, extra))
    with pytest.raises(SQLAlchemyError):
        sync(database, changed, T1)
    assert snapshot(database) == before


def test_range_query_agrees_with_the_engine(database, catalogue):
    """The indexed month/day pre-filter must never drop an occurrence the engine would find."""
    rng = random.Random(7)
    extra = []
    for i in range(150):
        origin = date(1900, 1, 1) + timedelta(days=rng.randrange(0, 45000))
        if i % 15 == 0:
            origin = date(rng.choice([1904, 1960, 1988]), 2, 29)
        if i % 20 == 1:
            extra.append(Commemoration(
                id=f"y-{i}", title="Y", category="founding", origin_year=origin.year,
                origin_month=None, origin_day=None, description="Y", source="Y",
                observances=((2024, date(2024, 3, 1)),) if i % 40 == 1 else ()))
            continue
        extra.append(Commemoration(
            id=f"d-{i}", title="D", category="victory", origin_year=origin.year,
            origin_month=origin.month, origin_day=origin.day, description="D", source="D"))
    everything = Catalogue(catalogue.files, (*catalogue.commemorations, *extra))
    sync(database, everything)
    with database.session() as s:
        for _ in range(60):
            start = date(2019, 1, 1) + timedelta(days=rng.randrange(0, 3000))
            end = start + timedelta(days=rng.choice([0, 1, 6, 30, 59, 90, 200, 364, 365, 800]))
            assert occurrences_between(s, start, end) == occurrences(
                everything.commemorations, start, end), (start, end)
        # 29 February origins on 28 February of a common year, by the indexed path.
        feb = occurrences_between(s, date(2023, 2, 28), date(2023, 2, 28))
        assert any(o.shifted for o in feb)


def test_migrations_create_the_schema_from_nothing_and_are_repeatable(db_url):
    from calendar_service.store import Database
    from calendar_service.store.migrate import current, upgrade

    db = Database(db_url)
    upgrade(db.engine)
    upgrade(db.engine)
    from alembic.script import ScriptDirectory

    from calendar_service.store.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(db.engine)).get_current_head()
    assert current(db.engine) == head
    with db.session() as s:
        assert data_version(s) == (0, None)
    db.dispose()


def test_the_migrations_build_exactly_the_models(db_url):
    """Every table, column, index and constraint of the models comes from a migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    import calendar_service.admin.models  # noqa: F401  (registers the feature tables)
    import calendar_service.plans.models  # noqa: F401
    import calendar_service.reminders.models  # noqa: F401
    import calendar_service.store.audit  # noqa: F401
    import calendar_service.store.heartbeat  # noqa: F401
    from calendar_service.store import Database
    from calendar_service.store.migrate import upgrade
    from calendar_service.store.models import Base

    db = Database(db_url)
    upgrade(db.engine)
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={
            "compare_type": True}), Base.metadata)
    db.dispose()
    assert differences == []
