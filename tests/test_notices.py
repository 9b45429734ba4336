"""Task notices and weekly digests to the agencies' contacts, through the same delivery ledger
as reminders: a real SMTP server on loopback, a real chat server, SQLite and PostgreSQL."""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime

import pytest
from sqlalchemy import select

from calendar_service.app_context import Services
from calendar_service.delivery.models import (
    DIGEST,
    PENDING,
    SENT,
    SKIPPED,
    TASK_NOTICE,
    DeliveryRow,
)
from calendar_service.plans.generate import generate
from calendar_service.plans.models import TaskRow
from calendar_service.reminders.tick import run_tick
from tests.conftest import ROOT, Cli, make_settings
from tests.smtp_sink import SMTPSink
from tests.test_reminders import TZ, _Hook, hook  # noqa: F401 - the chat server fixture

EVENTS = ROOT / "events"
CONTACTS = ["toasoan@baoquangnam.vn", "thuky@baoquangnam.vn"]


def at(day: str, hour: int = 8, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=TZ)


@pytest.fixture
def sink():
    server = SMTPSink().start()
    yield server
    server.stop()


@pytest.fixture
def svc(database, db_url, tmp_path, clock, sink, hook) -> Services:  # noqa: F811
    """The 2024 plan generated, Báo Quảng Nam with two e-mail contacts and a chat webhook."""
    agencies = tmp_path / "agencies.toml"
    agencies.write_text((EVENTS / "agencies.toml").read_text(encoding="utf-8").replace(
        'id = "bao-quang-nam"\nname = "Báo Quảng Nam"',
        'id = "bao-quang-nam"\nname = "Báo Quảng Nam"\nemails = ["toasoan@baoquangnam.vn", '
        f'"thuky@baoquangnam.vn"]\nwebhook = "{hook}/hooks/bao"'), encoding="utf-8")
    services = Services(make_settings(db_url, tmp_path, CALENDAR_MAIL_URL=sink.url),
                        clock=clock, _database=database)
    cli = Cli(services)
    result = cli("load", str(EVENTS / "2024.toml"), str(agencies), str(EVENTS / "plans.toml"))
    assert result.exit_code == 0, result.output
    with services.database.session() as session:
        generate(session, 2024, at("2024-01-01"))
    return services


def series(services: Services) -> TaskRow:
    """Báo Quảng Nam's article series for Điện Biên Phủ 70: due 07/4/2024."""
    with services.database.session() as session:
        return session.scalars(select(TaskRow).where(
            TaskRow.commemoration_id == "dien-bien-phu", TaskRow.agency_id == "bao-quang-nam")
        ).one()


def notices(services: Services, kind: str = TASK_NOTICE) -> list[DeliveryRow]:
    with services.database.session() as session:
        return list(session.scalars(select(DeliveryRow).where(DeliveryRow.kind == kind)
                                    .order_by(DeliveryRow.id)))


def parsed(sink: SMTPSink):
    return [email.message_from_bytes(m.data, policy=email.policy.default)
            for m in sink.received]


def task_lines(lines, task: TaskRow) -> list[str]:
    return [line for line in lines if line.startswith(f"task:{task.id}:")]


def test_a_week_before_the_due_day_every_contact_hears_once(svc, sink):
    task = series(svc)
    assert task.due_on == date(2024, 4, 7)
    early = run_tick(svc, at("2024-03-31", 7, 59))  # other notices, not this one yet
    assert task_lines(early.dispatch.sent, task) == []
    sink.received.clear()
    _Hook.bodies.clear()
    report = run_tick(svc, at("2024-03-31"))
    assert len(task_lines(report.dispatch.sent, task)) == 3  # two e-mails and the chat
    mails = [m for m in parsed(sink) if "Loạt bài" in m["Subject"]]
    assert sorted(m["To"].addresses[0].addr_spec for m in mails) == sorted(CONTACTS)
    subject = mails[0]["Subject"]
    assert subject.startswith("[Lịch kỷ niệm] Còn 7 ngày đến hạn (07/4/2024): Loạt bài")
    body = mails[0].get_body(("plain",)).get_content()
    assert "Kính gửi Báo Quảng Nam," in body
    assert "Hạn: Chủ Nhật, 07/4/2024" in body
    assert f"/admin/tasks/{task.id}" in body
    assert "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in body
    assert mails[0].get_body(("html",)) is not None
    (chat,) = [b for b in _Hook.bodies if "Loạt bài" in b["text"]]
    assert "Còn 7 ngày đến hạn" in chat["text"]
    # Again at the same moment, after a restart: nothing more.
    assert task_lines(run_tick(svc, at("2024-03-31", 9)).dispatch.sent, task) == []
    assert len([m for m in parsed(sink) if "Loạt bài" in m["Subject"]]) == 2
    ids = {m["Message-ID"] for m in mails}
    assert len(ids) == 2 and all(i.startswith("<task.") for i in ids)


def test_after_downtime_only_the_nearest_notice_goes(svc, sink):
    run_tick(svc, at("2024-04-06"))  # the day before: both 7 and 1 days ahead are due
    rows = [r for r in notices(svc) if r.task_id == series(svc).id and r.channel == "email"]
    assert sorted((r.notice_key.rsplit(":", 1)[1], r.status) for r in rows) == [
        ("1d", SENT), ("1d", SENT), ("7d", SKIPPED), ("7d", SKIPPED)]
    series_mails = [m for m in parsed(sink) if "Loạt bài" in m["Subject"]]
    assert {m["Subject"].split(":")[0] for m in series_mails} == {
        "[Lịch kỷ niệm] Còn 1 ngày đến hạn (07/4/2024)"}


def test_an_open_task_past_its_day_gets_one_overdue_notice(svc, sink, cli):
    run_tick(svc, at("2024-04-08"))
    overdue = [m for m in parsed(sink) if "Loạt bài" in m["Subject"]]
    assert {m["Subject"].split(":")[0] for m in overdue} == {
        "[Lịch kỷ niệm] Quá hạn 1 ngày (07/4/2024)"}
    sink.received.clear()
    run_tick(svc, at("2024-04-09"))
    assert not [m for m in parsed(sink) if "Loạt bài" in m["Subject"]]


def test_a_task_done_before_its_notice_is_not_nagged(svc, sink):
    task = series(svc)
    cli = Cli(svc)
    run_tick(svc, at("2024-03-31"))  # the 7-day notice went
    assert cli("tasks", "set", str(task.id), "--status", "done", "--link",
               "https://baoquangnam.vn/dien-bien-phu-70-nam.html").exit_code == 0
    sink.received.clear()
    run_tick(svc, at("2024-04-06"))
    run_tick(svc, at("2024-04-08"))
    assert not [m for m in parsed(sink) if "Loạt bài" in m["Subject"]]


def test_a_notice_planned_for_a_moved_day_is_skipped_when_sending(svc, sink):
    task = series(svc)
    with svc.database.session() as session:  # planned, then the due day moves
        from calendar_service.plans.notices import plan_notices

        plan_notices(session, at("2024-03-31"), svc.settings.reminder_time, TZ, ["email"])
        session.get(TaskRow, task.id).due_on = date(2024, 4, 20)
    report = run_tick(svc, at("2024-03-31", 8, 5))
    lines = [line for line in report.dispatch.skipped if f"task:{task.id}:" in line]
    assert len(lines) == 2 and all("due day changed" in line for line in lines)
    assert not [m for m in parsed(sink) if "Loạt bài" in m["Subject"]]


def test_the_monday_digest_once_a_week(svc, sink):
    run_tick(svc, at("2024-04-01"))  # a Monday
    digests = [m for m in parsed(sink) if "Việc của Báo Quảng Nam tuần 2024-W14" in m["Subject"]]
    assert len(digests) == 2
    body = digests[0].get_body(("plain",)).get_content()
    assert "Đến hạn trong 14 ngày tới" in body and "Loạt bài" in body
    # The articles for Nguyễn Chí Thanh (due 29/12/2023) and Nguyễn Lương Bằng (30/3).
    assert "Quá hạn (2):" in body and "Nguyễn Lương Bằng" in body and "Nguyễn Chí Thanh" in body
    rows = notices(svc, DIGEST)
    assert {r.status for r in rows} == {SENT} and len(rows) == 3
    sink.received.clear()
    run_tick(svc, at("2024-04-03"))  # later that week: no second digest
    assert not [m for m in parsed(sink) if "tuần 2024-W14" in m["Subject"]]


def test_a_digest_with_nothing_to_say_is_not_sent(svc, sink):
    with svc.database.session() as session:  # the paper has done everything
        for task in session.scalars(select(TaskRow).where(TaskRow.agency_id == "bao-quang-nam")):
            task.status = "done"
    run_tick(svc, at("2024-10-14"))  # a Monday
    assert not [m for m in parsed(sink) if "Việc của Báo Quảng Nam" in m["Subject"]]
    assert {r.status for r in notices(svc, DIGEST)} == {SKIPPED}


def test_the_dry_run_lists_notices_and_writes_nothing(svc, sink):
    cli = Cli(svc)
    result = cli("remind", "--as-of", "2024-03-31T08:00:00", "--dry-run")
    task = series(svc)
    assert f"would send: task:{task.id}:due:2024-04-07:7d email → toasoan@baoquangnam.vn" \
        in result.stdout
    assert notices(svc) == [] and sink.received == []


def test_agencies_without_contacts_get_nothing(database, db_url, tmp_path, clock, sink):
    services = Services(make_settings(db_url, tmp_path, CALENDAR_MAIL_URL=sink.url),
                        clock=clock, _database=database)
    assert Cli(services)("load", *map(str, (EVENTS / "2024.toml", EVENTS / "agencies.toml",
                                             EVENTS / "plans.toml"))).exit_code == 0
    with services.database.session() as session:
        generate(session, 2024, at("2024-01-01"))
    report = run_tick(services, at("2024-04-01"))
    assert report.notices.planned == 0 and sink.received == []
    assert all(r.status != PENDING for r in notices(services))


def test_the_admin_delivery_log_shows_notices_beside_reminders(svc, sink):
    from calendar_service.admin import accounts
    from tests.test_admin import PASSWORD, Browser, make_app

    run_tick(svc, at("2024-04-01"))
    with svc.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, svc.clock.now())
    admin = Browser(make_app(svc))
    assert admin.login().status_code == 302
    page = admin.text("/admin/deliveries")
    assert "Thư tổng hợp hằng tuần" in page and "toasoan@baoquangnam.vn" in page
    assert "Việc: <a href=\"/admin/tasks/" in page and "quá hạn" in page
