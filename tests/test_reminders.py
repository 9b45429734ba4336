"""Reminders end to end: a real SMTP server on loopback, real HTTP for webhooks, the real
database (SQLite, and PostgreSQL in CI), replayed days through `--as-of`."""

from __future__ import annotations

import email
import email.policy
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
import trustme
from sqlalchemy import func, select

from calendar_service.app import create_app
from calendar_service.app_context import Services
from calendar_service.catalogue import Catalogue, load_catalogue
from calendar_service.delivery import channels
from calendar_service.delivery.channels import TemporaryFailure
from calendar_service.delivery.channels.email import (
    POLICY,
    build_confirmation,
    transport_from_url,
)
from calendar_service.delivery.dispatch import dispatch
from calendar_service.delivery.models import DeliveryRow
from calendar_service.reminders import planner
from calendar_service.reminders import subscribers as subs
from calendar_service.reminders.delivering import message_id
from calendar_service.reminders.models import SubscriberRow
from calendar_service.reminders.scheduler import make_scheduler
from calendar_service.reminders.tick import kinds, run_tick
from calendar_service.store import Database, sync_catalogue
from tests.conftest import EVENTS_2024, Cli, make_settings
from tests.ical_checks import check_feed
from tests.smtp_sink import SMTPSink, free_port

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: str, hour: int = 8, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=TZ)


@pytest.fixture
def sink():
    server = SMTPSink().start()
    yield server
    server.stop()


def make_services(database, db_url, tmp_path, clock, mail_url, **settings: str) -> Services:
    """Services over `database` with the 2024 catalogue loaded (idempotent: a second
    Services on the same database, with other settings, changes nothing stored)."""
    services = Services(make_settings(db_url, tmp_path, CALENDAR_MAIL_URL=mail_url,
                                      **settings), clock=clock, _database=database)
    with services.database.session() as session:
        sync_catalogue(session, load_catalogue([EVENTS_2024]), at("2024-01-01"))
    return services


@pytest.fixture
def svc(database, db_url, tmp_path, clock, sink) -> Services:
    return make_services(database, db_url, tmp_path, clock, sink.url)


def add(services: Services, email: str, **options) -> None:
    with services.database.session() as session:
        subs.add(session, subs.NewSubscriber.parse(email, **options), at("2024-01-01"))


def deliveries(services: Services) -> list[DeliveryRow]:
    with services.database.session() as session:
        return list(session.scalars(select(DeliveryRow).order_by(DeliveryRow.id)))


def subjects(sink: SMTPSink) -> list[str]:
    return [m.message["Subject"] for m in sink.received]


# --- Subscribers --------------------------------------------------------------------

def test_subscribers_commands(cli):
    assert cli("subscribers", "add", "Bien.Tap@BaoQuangNam.vn", "--name", "Ban biên tập",
               "--categories", "victory,birth-anniversary", "--lead-days", "30,7").exit_code == 0
    duplicate = cli("subscribers", "add", "bien.tap@baoquangnam.vn")
    assert duplicate.exit_code == 1 and "đã đăng ký" in duplicate.stderr
    listed = json.loads(cli("subscribers", "list", "--json").stdout)
    assert listed == [{"email": "Bien.Tap@baoquangnam.vn", "name": "Ban biên tập",
                       "organisation": None, "categories": ["birth-anniversary", "victory"],
                       "scope": "notable", "lead_days": [30, 7], "webhook": False,
                       "active": True, "confirmed": True}]
    assert cli("subscribers", "remove", "bien.tap@baoquangnam.vn").exit_code == 0
    assert json.loads(cli("subscribers", "list", "--json").stdout) == []
    assert cli("subscribers", "remove", "nobody@example.org").exit_code == 1


@pytest.mark.parametrize("args, message", [
    (["not-an-address"], "không hợp lệ"),
    (["a@b.vn", "--categories", "sports"], "nhóm không tồn tại"),
    (["a@b.vn", "--lead-days", "0"], "số ngày báo trước"),
    (["a@b.vn", "--lead-days", "seven"], "--lead-days"),
    (["a@b.vn", "--webhook", "ftp://x"], "webhook"),
    (["a@b.vn", "--name", "X\r\nBcc: evil@example.org"], "xuống dòng"),
])
def test_bad_subscriber_input_is_a_clear_error(cli, args, message):
    result = cli("subscribers", "add", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert json.loads(cli("subscribers", "list", "--json").stdout) == []


# --- Planning and delivery ----------------------------------------------------------

def test_replaying_april_sends_each_reminder_once_on_its_day(svc, sink):
    add(svc, "editor@example.org")
    cli = Cli(svc)
    for offset in range(38):  # 2024-04-01 .. 2024-05-08, 08:00 each day
        day = date(2024, 4, 1) + timedelta(days=offset)
        result = cli("remind", "--as-of", f"{day.isoformat()}T08:00:00")
        assert result.exit_code == 0, result.output
        # A second tick the same day, as a restarted scheduler would run: nothing new.
        cli("remind", "--as-of", f"{day.isoformat()}T08:05:00")
    sent = Counter()
    days: dict[str, list[date]] = {}
    for d in deliveries(svc):
        if d.status == "sent":
            sent[d.message_id] += 1
            days.setdefault(d.commemoration_id, []).append(d.sent_at.astimezone(TZ).date())
    assert len(sink.received) == sum(sent.values())
    assert len({m.message["Message-ID"] for m in sink.received}) == len(sink.received)
    # Điện Biên Phủ, 07/5, 70th (round): 60 days ahead was before the replay began, so it
    # goes out on the first day; then 30, 14, 7 and 1 days ahead, each on its day.
    assert sorted(days["dien-bien-phu"]) == [date(2024, 4, 1), date(2024, 4, 7),
                                             date(2024, 4, 23), date(2024, 4, 30),
                                             date(2024, 5, 6)]
    # Trần Phú, 01/5, 120th (round birth anniversary): 30, 14, 7 and 1 days ahead.
    assert sorted(days["tran-phu"]) == [date(2024, 4, 1), date(2024, 4, 17),
                                        date(2024, 4, 24), date(2024, 4, 30)]
    dbp_subjects = [s for s in subjects(sink) if "Điện Biên Phủ" in s]
    assert "[Lịch kỷ niệm] Còn 7 ngày: Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ (07/5/2024)" \
        in dbp_subjects
    assert "[Lịch kỷ niệm] Còn 36 ngày: Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ (07/5/2024)" \
        in dbp_subjects


def test_planning_pages_through_the_subscribers(svc, sink, monkeypatch):
    monkeypatch.setattr(planner, "CHUNK", 2)  # five subscribers: pages of 2, 2, 1
    people = [f"editor{i}@example.org" for i in range(5)]
    for person in people:
        add(svc, person, categories=["victory"])
    with svc.database.session() as session:  # one who does not receive: skipped by the pages
        subs.unsubscribe(session, subs.find(session, "editor2@example.org"), at("2024-02-01"))
    report = run_tick(svc, at("2024-04-30"))
    assert report.plan.planned == 4
    assert sorted(m.rcpt_tos[0] for m in sink.received) == sorted(
        p for p in people if p != "editor2@example.org")


def test_nothing_before_the_send_time_and_nothing_for_past_occurrences(svc, sink):
    add(svc, "editor@example.org", categories=["victory"])
    run_tick(svc, at("2024-04-29"))  # catches up on what was due before
    before = len(sink.received)
    assert run_tick(svc, at("2024-04-30", 7, 59)).dispatch.sent == []  # due at 08:00
    assert len(run_tick(svc, at("2024-04-30", 8, 0)).dispatch.sent) == 1
    assert len(sink.received) == before + 1
    sink.received.clear()
    with svc.database.session() as session:  # forget the history: only the date protects
        for row in session.scalars(select(DeliveryRow)):
            session.delete(row)
    run_tick(svc, at("2024-05-08"))  # the day after: Điện Biên Phủ is past
    assert not any("Điện Biên Phủ" in s for s in subjects(sink))


def test_a_three_day_outage_sends_only_the_nearest_reminder(svc, sink):
    add(svc, "editor@example.org", lead_days=[3, 2, 1], categories=["victory"])
    run_tick(svc, at("2024-05-03"))  # before the first of them
    assert subjects(sink) == []
    run_tick(svc, at("2024-05-06", 9))  # down on 05-04 and 05-05, back on 05-06
    assert subjects(sink) == [
        "[Lịch kỷ niệm] Còn 1 ngày: Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ (07/5/2024)"]
    rows = {d.lead_days: d.status for d in deliveries(svc) if d.commemoration_id == "dien-bien-phu"}
    assert rows == {1: "sent", 2: "skipped", 3: "skipped"}
    run_tick(svc, at("2024-05-06", 10))
    assert len(sink.received) == 1


def test_scope_categories_and_personal_lead_times(svc, sink):
    add(svc, "notable@example.org")  # default: designated or round only
    add(svc, "all@example.org", scope="all", categories=["founding"], lead_days=[5])
    run_tick(svc, at("2025-12-17"))  # People's Army: 81st on 22/12/2025, not round
    to = [m.rcpt_tos for m in sink.received]
    assert to == [["all@example.org"]]
    assert "Còn 5 ngày: Kỷ niệm 81 năm Ngày thành lập Quân đội nhân dân Việt Nam" in \
        subjects(sink)[0]


def test_cancelled_commemorations_send_nothing_and_moved_dates_send_for_the_new_day(svc, sink):
    add(svc, "editor@example.org")
    catalogue = load_catalogue([EVENTS_2024])
    changed = Catalogue(catalogue.files, tuple(
        replace(c, observances=((2024, date(2024, 8, 9)),)) if c.id == "huynh-ngoc-hue" else c
        for c in catalogue.commemorations if c.id != "thuong-duc"))
    with svc.database.session() as session:
        sync_catalogue(session, changed, at("2024-07-01"))
    run_tick(svc, at("2024-08-02"))  # Thượng Đức 07/8 (cancelled); Huệ now on 09/8
    assert not any("Thượng Đức" in s for s in subjects(sink))
    assert any("Huỳnh Ngọc Huệ (09/8/2024)" in s for s in subjects(sink))


def test_a_pending_reminder_for_a_cancelled_commemoration_is_skipped(svc, sink):
    add(svc, "editor@example.org", categories=["victory"])
    sink.handler.temporary_failures = 1
    run_tick(svc, at("2024-07-31"))  # Thượng Đức, 7 days ahead: 451, will retry
    catalogue = load_catalogue([EVENTS_2024])
    with svc.database.session() as session:
        sync_catalogue(session, Catalogue(catalogue.files, tuple(
            c for c in catalogue.commemorations if c.id != "thuong-duc")), at("2024-07-31", 9))
    report = run_tick(svc, at("2024-07-31", 10))
    assert sink.received == []
    assert [s for s in report.dispatch.skipped if "cancelled" in s]


# --- Messages -----------------------------------------------------------------------

def test_the_email_message(svc, sink):
    add(svc, "editor@example.org", name="Nguyễn Văn A")
    run_tick(svc, at("2024-04-30"))
    (dbp,) = [m for m in sink.received if "Điện Biên Phủ" in m.message["Subject"]]
    msg = dbp.message
    assert dbp.rcpt_tos == ["editor@example.org"]
    assert msg["From"] == "lich-ky-niem@localhost"
    assert msg["To"] == "Nguyễn Văn A <editor@example.org>"
    assert msg["Date"] == "Tue, 30 Apr 2024 08:00:00 +0700"
    assert msg["Message-ID"].startswith("<reminder.dien-bien-phu.2024.20240507.7d.email.")
    assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/unsubscribe/")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    strict = email.message_from_bytes(dbp.data, policy=email.policy.strict)
    assert all(not part.defects for part in strict.walk())
    assert [p.get_content_type() for p in strict.walk()] == [
        "multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/calendar"]
    raw_headers = dbp.data.split(b"\r\n\r\n", 1)[0].decode("ascii")  # 7-bit headers
    assert "=?utf-8?" in raw_headers
    # The unsubscribe URL as it is, on one line: no encoded words (RFC 2369).
    assert f"\r\nList-Unsubscribe: {msg['List-Unsubscribe']}\r\n" in raw_headers
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for part in (plain, html):
        assert "Còn 7 ngày" in part and "Thứ Ba, 07/5/2024" in part
        assert "mục I.7" in part and "http://127.0.0.1:5000/events/dien-bien-phu" in part
        assert "Kỷ niệm 120 năm Ngày sinh đồng chí Trần Phú" in part  # the next 30 days
    (attachment,) = list(msg.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    cal = check_feed(attachment.get_content().encode() if isinstance(
        attachment.get_content(), str) else attachment.get_content())
    (event,) = cal.walk("VEVENT")
    assert event["DTSTART"].dt == date(2024, 5, 7)


def _strict(data: bytes) -> email.message.EmailMessage:
    """Parsed with the standard library's strict policy: any defect raises."""
    message = email.message_from_bytes(data, policy=email.policy.strict)
    assert all(not part.defects for part in message.walk())
    return message


def test_the_mail_merge_greets_each_recipient_by_name(svc, sink):
    add(svc, "named@example.org", name="Phòng Văn hóa - Thông tin", categories=["victory"])
    add(svc, "anonymous@example.org", categories=["victory"])
    add(svc, "markup@example.org", name="<b>Ban</b> & \"Biên tập\"", categories=["victory"])
    run_tick(svc, at("2024-04-30"))
    bodies = {}
    for received in sink.received:
        message = _strict(received.data)
        bodies[received.rcpt_tos[0]] = tuple(  # text parts travel with CRLF line ends
            message.get_body((kind,)).get_content().replace("\r\n", "\n")
            for kind in ("plain", "html"))
    plain, html = bodies["named@example.org"]
    assert plain.startswith("Kính gửi Phòng Văn hóa - Thông tin,\n")
    assert "<p>Kính gửi Phòng Văn hóa - Thông tin,</p>" in html
    plain, html = bodies["anonymous@example.org"]  # no name: a neutral greeting
    assert plain.startswith("Kính gửi Quý vị,\n") and "<p>Kính gửi Quý vị,</p>" in html
    plain, html = bodies["markup@example.org"]  # as typed in the text, escaped in HTML
    assert plain.startswith('Kính gửi <b>Ban</b> & "Biên tập",\n')
    assert "<p>Kính gửi &lt;b&gt;Ban&lt;/b&gt; &amp; &#34;Biên tập&#34;,</p>" in html
    assert "<b>Ban" not in html
    # Each recipient's own address and unsubscribe link, in both parts.
    for who, (plain, html) in bodies.items():
        assert f"({who})" in plain and f"({who})" in html
    links = {m.rcpt_tos[0]: m.message["List-Unsubscribe"] for m in sink.received}
    assert len(set(links.values())) == 3
    for who, link in links.items():
        assert link.strip("<>") in bodies[who][0]


def test_every_message_parses_strictly(svc, sink):
    """Names that need quoting or encoding, an IDN domain, an organisation's long name:
    every message parses with the strict policy, and its .ics attachment is a valid
    calendar."""
    for i, name in enumerate(["Sở Văn hóa, Thể thao và Du lịch", 'Tòa soạn "Quảng Nam"',
                              "Đài Phát thanh - Truyền hình tỉnh Quảng Nam (Ban Thời sự)",
                              None, "Trần Văn Đức"]):
        add(svc, f"editor{i}@{'sở.vn' if i == 3 else 'example.org'}", name=name)
    run_tick(svc, at("2024-04-30"))
    assert len(sink.received) == 10  # Điện Biên Phủ −7 d and Trần Phú −1 d each
    for received in sink.received:
        message = _strict(received.data)
        assert message["To"].addresses[0].addr_spec == received.rcpt_tos[0]
        assert received.data.isascii()  # 7-bit: no SMTPUTF8 or 8BITMIME needed
        (attachment,) = message.iter_attachments()
        assert attachment.get_content_type() == "text/calendar"
        assert attachment.get_content_charset() == "utf-8"
        (event,) = check_feed(attachment.get_content().encode()).walk("VEVENT")
        title = str(event["SUMMARY"]).split(" (")[0]  # Kỷ niệm 70 năm Chiến thắng …
        assert title in message["Subject"]
    names = sorted(str(m.message["To"]) for m in sink.received)
    assert names[0] == '"Sở Văn hóa, Thể thao và Du lịch" <editor0@example.org>'


def test_the_confirmation_email():
    message = build_confirmation(
        recipient="bien-tap@sở.vn", name="Ban biên tập\r\nBcc: victim@example.org",
        sender="Lịch kỷ niệm <lich@example.org>",
        confirm_url="http://h/subscribe/confirm/abc.def", sent_at=at("2024-04-30"), host="h")
    data = message.as_bytes()
    parsed = _strict(data)
    assert data.isascii() and b"\r\nBcc:" not in data.split(b"\r\n\r\n")[0]
    assert parsed["To"].addresses[0].addr_spec == "bien-tap@xn--s-lym.vn"
    assert parsed["From"].addresses[0].display_name == "Lịch kỷ niệm"
    assert parsed["Subject"] == "[Lịch kỷ niệm] Xác nhận đăng ký nhận nhắc lịch"
    assert parsed["Message-ID"].startswith("<confirm.")
    assert parsed.get_content_type() == "text/plain"
    body = parsed.get_content()
    assert "http://h/subscribe/confirm/abc.def" in body and "bien-tap@sở.vn" in body


def test_internationalised_addresses(svc, sink, cli):
    add(svc, "editor@sở.vn", name="Biên tập", categories=["victory"])  # an IDN domain
    add(svc, "plain@example.org", categories=["victory"])
    with svc.database.session() as session:  # stored before input was checked for this
        session.add(SubscriberRow(email="biên@example.org", scope="notable", active=True,
                                  categories=["victory"], created_at=at("2024-01-01"),
                                  confirmed_at=at("2024-01-01")))
    report = run_tick(svc, at("2024-04-30"))
    assert sorted(m.rcpt_tos[0] for m in sink.received) == [
        "editor@xn--s-lym.vn", "plain@example.org"]  # the domain travels as IDNA
    idn = next(m for m in sink.received if m.rcpt_tos == ["editor@xn--s-lym.vn"])
    assert idn.message["To"].addresses[0].addr_spec == "editor@xn--s-lym.vn"
    assert "(editor@sở.vn)" in idn.message.get_body(("plain",)).get_content()
    (failed,) = report.dispatch.failed
    assert "biên@example.org" in failed and "SMTPUTF8" in failed
    assert sorted(d.status for d in deliveries(svc) if d.lead_days == 7) == [
        "failed", "sent", "sent"]
    refused = cli("subscribers", "add", "tên@example.org")
    assert refused.exit_code == 1 and "@-sign" in refused.output


def test_message_id_is_deterministic():
    first = message_id("dien-bien-phu", 2024, date(2024, 5, 7), 7, "email", "A@x.vn", "h")
    assert first == message_id("dien-bien-phu", 2024, date(2024, 5, 7), 7, "email", "a@x.vn", "h")
    assert first != message_id("dien-bien-phu", 2024, date(2024, 5, 7), 1, "email", "a@x.vn", "h")


def test_header_injection_is_impossible(svc, sink):
    # Straight into the database, past the validation a CLI or form would apply.
    with svc.database.session() as session:
        session.add(SubscriberRow(
            email="editor@example.org", name="Evil\r\nBcc: victim@example.org",
            organisation="X\nY", scope="notable", active=True,
            created_at=at("2024-01-01"), confirmed_at=at("2024-01-01")))
    catalogue = load_catalogue([EVENTS_2024])
    with svc.database.session() as session:
        sync_catalogue(session, Catalogue(catalogue.files, tuple(
            replace(c, title="Chiến thắng\r\nBcc: victim@example.org") if c.id == "dien-bien-phu"
            else c for c in catalogue.commemorations)), at("2024-02-01"))
    run_tick(svc, at("2024-04-30"))
    assert sink.received
    for received in sink.received:
        assert received.rcpt_tos == ["editor@example.org"]
        headers = received.data.split(b"\r\n\r\n", 1)[0]
        assert b"\r\nBcc:" not in headers and b"\nBcc:" not in headers
        assert received.message["Bcc"] is None


def test_unsubscribe_through_the_app(svc, sink):
    add(svc, "editor@example.org")
    add(svc, "other@example.org")
    run_tick(svc, at("2024-04-30"))
    message = next(m.message for m in sink.received if m.rcpt_tos == ["editor@example.org"])
    url = message["List-Unsubscribe"].strip("<>")
    path = url.removeprefix("http://127.0.0.1:5000")
    client = create_app(svc).test_client()
    page = client.get(path)
    assert page.status_code == 200 and "editor@example.org" in page.get_data(as_text=True)
    assert '<form method="post"' in page.get_data(as_text=True)
    with svc.database.session() as session:
        assert subs.find(session, "editor@example.org").active  # a GET changes nothing
    # RFC 8058 one-click: what a mail client POSTs.
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    with svc.database.session() as session:
        assert not subs.find(session, "editor@example.org").active
        assert subs.find(session, "other@example.org").active
    # Forged, or the token of another address: refused.
    assert client.post(path[:-3] + "xyz").status_code == 404
    with svc.database.session() as session:
        subs.find(session, "editor@example.org").email = "changed@example.org"
    assert client.post(path).status_code == 404
    before = len(sink.received)
    run_tick(svc, at("2024-05-06"))
    assert all(m.rcpt_tos != ["changed@example.org"] for m in sink.received[before:])


# --- Faults -------------------------------------------------------------------------

def test_smtp_down_for_a_tick_then_back(database, db_url, tmp_path, clock):
    port = free_port()
    services = make_services(database, db_url, tmp_path, clock,
                             f"smtp://127.0.0.1:{port}?timeout=2")
    add(services, "editor@example.org")
    first = run_tick(services, at("2024-04-30"))
    assert first.dispatch.sent == [] and len(first.dispatch.retrying) == 2
    assert run_tick(services, at("2024-04-30", 8, 1)).dispatch.retrying == []  # backoff
    server = SMTPSink(port).start()
    try:
        later = run_tick(services, at("2024-04-30", 8, 30))
        assert len(later.dispatch.sent) == 2 and len(server.received) == 2
        run_tick(services, at("2024-04-30", 9))
        assert len(server.received) == 2
    finally:
        server.stop()


@pytest.fixture(scope="module")
def certificate_authority(tmp_path_factory):
    """A throwaway CA and a certificate for 127.0.0.1, as a mail server inside a
    government network would have from an internal CA."""
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.configure_cert(context)
    cafile = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    return context, cafile


@pytest.mark.parametrize("kind", ["starttls", "smtps"])
def test_tls_and_login(database, db_url, tmp_path, clock, certificate_authority, kind):
    context, cafile = certificate_authority
    tls = {"starttls": context} if kind == "starttls" else {"implicit_tls": context}
    server = SMTPSink(**tls, logins={"lich": "p@ss w:rd"}).start()
    try:
        scheme, option = ("smtp", "starttls=1&") if kind == "starttls" else ("smtps", "")
        base = (f"{scheme}://lich:p%40ss%20w%3Ard@127.0.0.1:{server.port}"
                f"?{option}timeout=5")
        services = make_services(database, db_url, tmp_path, clock, f"{base}&cafile={cafile}")
        add(services, "editor@example.org", categories=["victory"])
        # Without the CA the certificate is refused: a temporary failure, nothing lost.
        untrusted = make_services(database, db_url, tmp_path, clock, base)
        refused = run_tick(untrusted, at("2024-04-30"))
        assert "CERTIFICATE_VERIFY_FAILED" in refused.dispatch.retrying[0]
        assert server.received == []
        # A wrong password: retried too (the configuration is at fault, not the message).
        wrong = make_services(database, db_url, tmp_path, clock,
                              base.replace("p%40ss", "sai") + f"&cafile={cafile}")
        denied = run_tick(wrong, at("2024-04-30", 8, 10))
        assert "login refused" in denied.dispatch.retrying[0] and server.received == []
        done = run_tick(services, at("2024-04-30", 9))  # after the backoff
        assert len(done.dispatch.sent) == 1 and len(server.received) == 1
        assert server.logins == ["lich"]
        assert server.received[0].rcpt_tos == ["editor@example.org"]
    finally:
        server.stop()


def test_mail_url_mistakes_are_clear_errors():
    with pytest.raises(ValueError, match="cafile"):
        transport_from_url("smtp://127.0.0.1:25?starttls=1&cafile=/nonexistent/ca.pem")
    with pytest.raises(ValueError, match="ASCII"):
        transport_from_url("smtp://lich:m%E1%BA%ADt@127.0.0.1:25?starttls=1")


def test_451_then_accepted(svc, sink):
    add(svc, "editor@example.org", categories=["victory"])
    sink.handler.temporary_failures = 1
    report = run_tick(svc, at("2024-04-30"))
    assert report.dispatch.sent == [] and "451" in report.dispatch.retrying[0]
    (row,) = [d for d in deliveries(svc) if d.lead_days == 7]
    assert (row.status, row.attempts) == ("pending", 1) and "451" in row.last_error
    report = run_tick(svc, at("2024-04-30", 9))
    assert len(report.dispatch.sent) == 1 and len(sink.received) == 1
    (row,) = [d for d in deliveries(svc) if d.lead_days == 7]
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, None)


def test_550_for_one_recipient_does_not_block_the_others(svc, sink):
    add(svc, "gone@example.org", categories=["victory"])
    add(svc, "editor@example.org", categories=["victory"])
    sink.handler.rejected = {"gone@example.org"}
    report = run_tick(svc, at("2024-04-30"))
    assert [m.rcpt_tos for m in sink.received] == [["editor@example.org"]]
    assert len(report.dispatch.failed) == 1 and "550" in report.dispatch.failed[0]
    failed = [d for d in deliveries(svc) if d.status == "failed"]
    assert len(failed) == 1 and "550" in failed[0].last_error
    run_tick(svc, at("2024-04-30", 12))
    assert len(sink.received) == 1  # a permanent failure is not retried


def test_each_result_is_committed_before_the_next_message_is_accepted(svc, sink, database):
    """The 'at most one repeated' guarantee: when the server is about to accept message
    k + 1, message k's result is already committed (read here on another connection)."""
    for i in range(6):
        add(svc, f"editor{i}@example.org", categories=["victory"])
    seen: list[tuple[int, int]] = []

    def check(envelope) -> None:
        with database.engine.connect() as conn:  # its own connection: committed rows only
            sent = conn.execute(select(func.count()).select_from(DeliveryRow)
                                .where(DeliveryRow.status == "sent")).scalar_one()
        seen.append((len(sink.received), sent))

    sink.handler.on_data = check
    report = run_tick(svc, at("2024-04-30"))
    assert len(report.dispatch.sent) == 6 == len(sink.received)
    assert seen == [(k, k) for k in range(6)]


def test_a_dropped_connection_is_opened_again(svc, sink):
    """One connection serves the run; when it drops, the message that found it dropped is
    retried later (it may have reached the server) and the next one opens a new one."""
    transport = transport_from_url(sink.url)
    add(svc, "editor@example.org")
    run_tick(svc, at("2024-04-30"))
    messages = [email.message_from_bytes(m.data, policy=POLICY) for m in sink.received]
    with transport.connect() as mail:
        mail.send(messages[0])
        first = mail.client
        mail.client.sock.shutdown(socket.SHUT_RDWR)  # gone, as after a server's timeout
        with pytest.raises(TemporaryFailure, match="connection lost"):
            mail.send(messages[1])
        mail.send(messages[1])
        assert mail.client is not first
        mail.send(messages[0])  # and that one is reused
    assert [m.message["Message-ID"] for m in sink.received[2:]] == [
        messages[0]["Message-ID"], messages[1]["Message-ID"], messages[0]["Message-ID"]]


def test_a_claim_released_as_stale_is_not_sent_by_the_run_that_lost_it(database, db_url,
                                                                         tmp_path, clock,
                                                                         sink):
    """The claim fence. Run A claims its batch and stalls on its first message (say, the
    mail server takes longer than the claim timeout); meanwhile run B, 20 minutes later,
    releases A's claims as stale and sends them all. A then sends none of them, and what A
    records about its one message in flight does not overwrite B's result."""
    services = make_services(database, db_url, tmp_path, clock, sink.url)
    people = [f"editor{i}@example.org" for i in range(5)]
    for person in people:
        add(services, person, categories=["victory"])
    with services.database.session() as session:
        planner.plan(session, at("2024-04-30"), services.settings.reminder_time, TZ,
                     list(channels.configured(services.settings).values()))
    other = make_services(database, db_url, tmp_path, clock, f"file://{tmp_path / 'b'}")
    taken_over = []

    def run_b(envelope) -> None:
        if not taken_over:  # while A's first message is in flight
            taken_over.append(dispatch(other, at("2024-04-30", 8, 20), kinds()))

    sink.handler.on_data = run_b
    report = dispatch(services, at("2024-04-30"), kinds())
    (b,) = taken_over
    assert len(sink.received) == 1  # A sent its first message, and nothing after it
    assert len(list((tmp_path / "b").glob("*.eml"))) == 5  # B sent all five
    assert b.sent.total == 5 and report.sent.total == 0 and report.lost.total == 5
    assert "claim taken over by another run" in report.lost[0]
    rows = [d for d in deliveries(services) if d.lead_days == 7]
    assert {(d.status, d.attempts, d.sent_at) for d in rows} == {
        ("sent", 2, at("2024-04-30", 8, 20))}  # B's results, all of them


def test_a_new_channel_is_one_class_in_the_registry(svc, monkeypatch):
    """The channel interface, shown with a chat service that is not there yet: nothing
    but the class below, listed in CHANNELS (its settings would come from `settings`)."""
    outbox: list[tuple[str, str]] = []

    class Zalo:
        name = "zalo"

        def __init__(self, settings) -> None:
            self.prefix = "zalo:"

        def address(self, recipient: channels.Recipient) -> str | None:
            return None if recipient.name is None else self.prefix + recipient.email

        def render(self, letter: channels.Letter) -> tuple[str, str]:
            return letter.address, letter.render("_chat.txt")

        @contextmanager
        def open(self):
            yield outbox.append

    monkeypatch.setattr(channels, "CHANNELS", (*channels.CHANNELS, Zalo))
    add(svc, "named@example.org", name="Ban biên tập", categories=["victory"])
    add(svc, "anonymous@example.org", categories=["victory"])
    report = run_tick(svc, at("2024-04-30"))
    assert report.dispatch.sent.total == 3  # two e-mails, one Zalo message
    ((address, text),) = outbox
    assert address == "zalo:named@example.org"
    assert "Còn 7 ngày: Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in text
    zalo = [d for d in deliveries(svc) if d.channel == "zalo" and d.status != "skipped"]
    assert [(d.status, d.message_id.split(".")[5]) for d in zalo] == [("sent", "zalo")]
    assert run_tick(svc, at("2024-04-30", 9)).dispatch.sent.total == 0  # once


def test_dispatcher_killed_mid_batch_loses_nothing(database, db_url, tmp_path, clock, sink):
    services = make_services(database, db_url, tmp_path, clock, sink.url)
    people = [f"editor{i}@example.org" for i in range(12)]
    for person in people:
        add(services, person, categories=["victory"])
    sink.handler.delay = 0.25
    env = {**os.environ, "CALENDAR_DATABASE_URL": db_url, "CALENDAR_MAIL_URL": sink.url,
           "CALENDAR_SECRET_KEY": "test-secret", "CALENDAR_EVENTS": str(EVENTS_2024)}
    process = subprocess.Popen(
        [sys.executable, "-m", "calendar_service", "remind", "--as-of", "2024-04-30T08:00:00"],
        env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while len(sink.received) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert 4 <= len(sink.received) < len(people), "killed mid-batch"
    sink.handler.delay = 0
    # The next tick, after the stale claim expired, finishes the job.
    run_tick(services, at("2024-04-30", 8, 30))
    counts = Counter(m.rcpt_tos[0] for m in sink.received)
    assert set(counts) == set(people)
    repeated = [who for who, n in counts.items() if n > 1]
    assert len(repeated) <= 1
    for who in repeated:  # the one in flight: same Message-ID, so clients collapse it
        ids = {m.message["Message-ID"] for m in sink.received if m.rcpt_tos == [who]}
        assert len(ids) == 1
    assert {d.status for d in deliveries(services) if d.lead_days == 7} == {"sent"}


def test_two_dispatchers_in_parallel_on_postgresql_send_each_once(pg_url, tmp_path, clock,
                                                                 sink):
    url = pg_url
    database = Database(url)
    from calendar_service.store.migrate import upgrade

    upgrade(database.engine)
    services = make_services(database, url, tmp_path, clock, sink.url)
    for i in range(40):
        add(services, f"editor{i}@example.org", categories=["victory"])
    sink.handler.delay = 0.02
    second = Services(services.settings, clock=clock, _database=Database(url))
    results = []
    # Small batches, so the two dispatchers contend for rows all along.
    threads = [threading.Thread(target=lambda s=s: results.append(
        run_tick(s, at("2024-04-30"), batch=3))) for s in (services, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    counts = Counter(m.rcpt_tos[0] for m in sink.received)
    assert len(counts) == 40 and set(counts.values()) == {1}
    assert sorted(len(r.dispatch.sent) > 0 for r in results) == [True, True]
    assert sum(len(r.dispatch.sent) for r in results) == 40
    second.database.dispose()
    database.dispose()


# --- Webhooks -----------------------------------------------------------------------

class _Hook(BaseHTTPRequestHandler):
    answers: list[int] = []
    bodies: list[dict] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.bodies.append(body)
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def hook():
    """A chat server on loopback: its base URL; what it received is in _Hook.bodies."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.answers, _Hook.bodies = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_webhook_500_then_success(svc, sink, hook):
    _Hook.answers = [500]
    add(svc, "team@example.org", categories=["victory"], webhook_url=f"{hook}/hooks/abc")
    first = run_tick(svc, at("2024-04-30"))
    assert len(first.dispatch.sent) == 1  # the e-mail
    assert len(first.dispatch.retrying) == 1 and "500" in first.dispatch.retrying[0]
    second = run_tick(svc, at("2024-04-30", 9))
    assert len(second.dispatch.sent) == 1
    (body,) = _Hook.bodies
    assert set(body) == {"text"}
    assert "Còn 7 ngày: Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in body["text"]
    run_tick(svc, at("2024-04-30", 10))
    assert len(_Hook.bodies) == 1 and len(sink.received) == 1


def test_the_global_chat_channel(database, db_url, tmp_path, clock, sink, cli, hook):
    channel_url = f"{hook}/hooks/team"
    services = make_services(database, db_url, tmp_path, clock, sink.url,
                             CALENDAR_WEBHOOK_URL=channel_url)
    add(services, "editor@example.org", categories=["victory"])
    dry = run_tick(services, at("2024-04-30"), dry_run=True)
    assert any(" webhook → subscriber " in line for line in dry.would_send)
    report = run_tick(services, at("2024-04-30"))
    # The editor's e-mail; the channel (every category) posts Điện Biên Phủ −7 d and
    # Trần Phú −1 d — designated or round, what a default subscriber hears.
    assert len(report.dispatch.sent) == 3
    assert [m.rcpt_tos for m in sink.received] == [["editor@example.org"]]  # no e-mail
    texts = sorted(body["text"] for body in _Hook.bodies)
    assert len(texts) == 2
    assert "Còn 1 ngày: Kỷ niệm 120 năm Ngày sinh đồng chí Trần Phú" in texts[0]
    assert "Còn 7 ngày: Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in texts[1]
    with services.database.session() as session:
        (channel,) = [r for r in subs.list_all(session) if not r.email_enabled]
        assert (channel.webhook_url, channel.active) == (channel_url, True)
    run_tick(services, at("2024-04-30", 9))
    assert len(_Hook.bodies) == 2  # once each
    refused = cli("subscribers", "remove", channel.email)
    assert refused.exit_code == 1 and "CALENDAR_WEBHOOK_URL" in refused.output
    # Unset: the channel stops; its history stays.
    quiet = make_services(database, db_url, tmp_path, clock, sink.url)
    run_tick(quiet, at("2024-05-06"))  # Điện Biên Phủ −1 d
    assert len(_Hook.bodies) == 2 and len(sink.received) == 2
    with services.database.session() as session:
        assert not subs.find(session, channel.email).active


# --- Scheduler ----------------------------------------------------------------------

def test_the_scheduler_only_ticks(svc):
    scheduler = make_scheduler(svc)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"reminders", "publish"}  # the feeds publish in a job of their own
    job = jobs["reminders"]
    assert job.coalesce is True and job.misfire_grace_time >= 3600 and job.max_instances == 1
    assert job.trigger.interval == timedelta(minutes=5)


def test_dry_run_sends_and_records_nothing(svc, sink):
    add(svc, "editor@example.org")
    result = Cli(svc)("remind", "--as-of", "2024-04-30T08:00:00+07:00", "--dry-run")
    assert result.exit_code == 0
    assert "would send: dien-bien-phu 2024 −7d email" in result.stdout
    assert sink.received == [] and deliveries(svc) == []
    run_tick(svc, at("2024-04-30"))  # sent for real: a dry run now has nothing left
    again = Cli(svc)("remind", "--as-of", "2024-04-30T08:00:00+07:00", "--dry-run")
    assert "0 reminder(s) due" in again.stdout


def test_remind_rejects_a_bad_moment(svc):
    result = Cli(svc)("remind", "--as-of", "30/04/2024")
    assert result.exit_code == 1 and "ISO 8601" in result.stderr


def test_the_sender_leaves_postgresql_connections_as_it_found_them(pg_url, tmp_path, clock,
                                                                   sink):
    from sqlalchemy import text

    from calendar_service.store.migrate import upgrade

    database = Database(pg_url, pool_size=2, max_overflow=0)  # the dispatcher's two, reused
    upgrade(database.engine)
    services = make_services(database, pg_url, tmp_path, clock, sink.url)
    add(services, "editor@example.org", categories=["victory"])
    assert len(run_tick(services, at("2024-04-30")).dispatch.sent) == 1
    with database.engine.connect() as one, database.engine.connect() as two:
        for conn in (one, two):
            assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    database.dispose()


def test_a_mail_server_that_never_answers_stops_the_run_after_three_timeouts(
        database, db_url, tmp_path, clock):
    """It takes the connection and says nothing: without a stop, one timeout per message."""
    import socket

    from calendar_service.delivery.dispatch import MAX_TIMEOUTS_IN_A_ROW

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # the kernel accepts the connections; nobody ever answers
    port = listener.getsockname()[1]
    try:
        services = make_services(database, db_url, tmp_path, clock,
                                 f"smtp://127.0.0.1:{port}?timeout=0.3")
        for n in range(10):
            add(services, f"editor{n}@example.org", categories=["victory"])
        started = time.monotonic()
        report = run_tick(services, at("2024-04-30"))
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    d = report.dispatch
    assert d.sent.total == 0 and d.retrying.total == 10
    assert elapsed < 10 * 0.3  # three timeouts, not ten
    rows = [r for r in deliveries(services) if r.status == "pending"]
    assert len(rows) == 10
    assert all(r.next_attempt_at > at("2024-04-30") for r in rows)  # later, with backoff
    stopped = [r for r in rows if "stopped using it" in (r.last_error or "")]
    assert len(stopped) == 10 - MAX_TIMEOUTS_IN_A_ROW
    assert all("did not answer" in r.last_error for r in rows)
