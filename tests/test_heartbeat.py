"""Heartbeats (store/heartbeat.py): one row per background job, upserted by every run, on
both databases; the scheduler's tick records itself there."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import text

from calendar_service.reminders.scheduler import TICK, tick_job
from calendar_service.store import Database, heartbeat

T0 = datetime.fromisoformat("2026-11-27T09:00:00+07:00")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_success_then_a_failure_then_a_success(database):
    with database.session() as session:
        heartbeat.beat(session, "publish", started=at(0), finished=at(1), ok=True,
                       detail={"duration_seconds": 0.5, "bytes": 1234, "files": 7})
    with database.session() as session:
        first = heartbeat.read(session, "publish")
    assert first.ok and first.last_success_at == at(1) and first.last_error is None
    assert first.detail == {"duration_seconds": 0.5, "bytes": 1234, "files": 7}
    assert first.duration_seconds == 0.5 and not first.running
    assert first.host and ":" in first.host

    with database.session() as session:
        heartbeat.beat(session, "publish", started=at(5), finished=at(6), ok=False,
                       error="disk full " + "x" * 5000)
    with database.session() as session:
        failed = heartbeat.read_all(session)["publish"]
    assert not failed.ok
    assert failed.last_success_at == at(1)  # the last success stays known
    assert failed.last_error.startswith("disk full")
    assert len(failed.last_error) == heartbeat.ERROR_MAX  # bounded
    assert failed.last_error_at == at(6) and failed.last_finished_at == at(6)
    assert failed.detail == {}
    assert failed.duration_seconds == 60.0  # no measured duration: finish minus start

    with database.session() as session:
        heartbeat.beat(session, "publish", started=at(10), finished=at(10.5), ok=True)
    with database.session() as session:
        again = heartbeat.read(session, "publish")
    assert again.ok and again.last_success_at == at(10.5)
    assert again.last_error.startswith("disk full")  # the last error stays for the operator
    assert again.last_error_at == at(6)


def test_a_run_in_progress_and_a_late_report(database):
    with database.session() as session:
        heartbeat.beat(session, "tick", started=at(0), finished=at(1), ok=True)
        heartbeat.begin(session, "tick", started=at(5))
    with database.session() as session:
        running = heartbeat.read(session, "tick")
    assert running.running and running.last_started_at == at(5)
    assert running.duration_seconds is None  # no measured duration while running

    # A second scheduler reports, late, a run that finished before the one recorded: the
    # newer record stays.
    with database.session() as session:
        heartbeat.beat(session, "tick", started=at(6), finished=at(8), ok=True,
                       detail={"sent": 2})
        heartbeat.beat(session, "tick", started=at(4), finished=at(7), ok=False, error="late")
        heartbeat.begin(session, "tick", started=at(3))  # an older start: ignored too
    with database.session() as session:
        row = heartbeat.read(session, "tick")
    assert row.ok and row.last_finished_at == at(8) and row.detail == {"sent": 2}
    assert row.last_started_at == at(6) and row.last_error is None


def test_names_and_details_are_checked(database):
    with database.session() as session:
        for bad in ("", "x" * 41, "tick; drop", "nhắc"):
            with pytest.raises(ValueError, match="heartbeat name"):
                heartbeat.beat(session, bad, started=at(0), finished=at(0), ok=True)
        with pytest.raises(ValueError, match="detail"):
            heartbeat.beat(session, "tick", started=at(0), finished=at(0), ok=True,
                           detail={"lines": ["x" * 100] * 100})
        with pytest.raises(TypeError):
            heartbeat.beat(session, "tick", started=at(0), finished=at(0), ok=True,
                           detail={"set": {1, 2}})
        assert heartbeat.read(session, "tick") is None and heartbeat.read_all(session) == {}


def test_two_schedulers_beat_at_once(db_url, database):
    """Two processes' worth of connections upsert the same names at the same moments: no
    error (no duplicate key on the first insert), and the row ends with the latest run."""
    engines = [Database(db_url), Database(db_url)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def scheduler(db: Database, offset: float) -> None:
        try:
            for i in range(40):
                name = f"job{i % 4}"
                if i < 4:
                    barrier.wait(timeout=10)  # the first inserts of each name race
                with db.session() as session:
                    heartbeat.beat(session, name, started=at(i), finished=at(i + offset),
                                   ok=True, detail={"by": offset})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scheduler, args=(db, offset))
               for db, offset in zip(engines, (0.25, 0.5), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in engines:
        db.dispose()
    assert errors == []
    with database.session() as session:
        rows = heartbeat.read_all(session)
        count = session.execute(text("SELECT count(*) FROM heartbeats")).scalar_one()
    assert count == 4 and sorted(rows) == ["job0", "job1", "job2", "job3"]
    for i, name in enumerate(sorted(rows)):
        # Each name's last run is i = 36..39; the later finish (offset 0.5) wins.
        assert rows[name].last_finished_at == at(36 + i + 0.5)
        assert rows[name].detail == {"by": 0.5}


def test_the_scheduler_tick_records_its_heartbeat(loaded, caplog):
    caplog.set_level("INFO", logger="calendar_service.reminders")
    report = tick_job(loaded)
    assert report is not None
    with loaded.database.session() as session:
        tick = heartbeat.read(session, TICK)
    now = loaded.clock.now()
    assert tick.ok and tick.last_success_at == now and tick.last_started_at == now
    assert set(tick.detail) == {"duration_seconds", "planned", "sent", "retrying", "failed",
                                "skipped", "lost"}
    assert tick.detail["duration_seconds"] >= 0
    (line,) = [r for r in caplog.records if getattr(r, "event", None) == "tick"]
    assert line.getMessage().startswith("tick ok in ") and line.ok is True
    assert line.sent == 0 and line.duration_ms >= 0


def test_a_failed_tick_is_recorded_with_its_error(loaded, caplog):
    tick_job(loaded)
    with loaded.database.session() as session:
        cascade = " CASCADE" if session.connection().dialect.name == "postgresql" else ""
        session.execute(text(f"DROP TABLE deliveries{cascade}"))
    assert tick_job(loaded) is None  # logged, never raised
    with loaded.database.session() as session:
        tick = heartbeat.read(session, TICK)
    assert not tick.ok and "deliveries" in tick.last_error
    assert tick.last_success_at == loaded.clock.now()  # the earlier tick's
    assert "reminder tick failed" in caplog.text
