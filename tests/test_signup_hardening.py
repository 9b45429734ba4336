"""Issue 11, items 2 and 6, and what an attacker of the public sign-up would try next, on
SQLite and PostgreSQL: twenty concurrent sign-ups of one address send one confirmation and
never a 500; a confirmation link works once, never over an administrator's decision, and is
audited; the answer's timing does not tell a known address from an unknown one; the link's
host is the configured one, whatever Host the request named; the public form sets no
webhook."""

from __future__ import annotations

import base64
import re
import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from calendar_service.app_context import Services
from calendar_service.reminders import subscribers as subs
from calendar_service.reminders.confirmations import ConfirmationMailer
from calendar_service.reminders.models import SubscriberRow
from calendar_service.store.audit import AuditEntry
from tests.conftest import make_settings
from tests.live import LiveServer
from tests.smtp_sink import SMTPSink
from tests.test_admin import admin, admin_services, app, browser  # noqa: F401 (fixtures)

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
LINK = re.compile(r"/subscribe/confirm/[A-Za-z0-9_.\-]+")


@pytest.fixture
def sink():
    server = SMTPSink().start()
    yield server
    server.stop()


@pytest.fixture
def smtp_services(database, db_url, tmp_path, clock, sink, events_2024) -> Services:
    from calendar_service.catalogue import load_catalogue
    from calendar_service.store import sync_catalogue

    svc = Services(make_settings(db_url, tmp_path, CALENDAR_MAIL_URL=sink.url), clock=clock,
                   _database=database)
    with svc.database.session() as session:
        sync_catalogue(session, load_catalogue([events_2024]), clock.now())
    return svc


def rows(services: Services) -> list[SubscriberRow]:
    with services.database.session() as session:
        return list(session.scalars(select(SubscriberRow).order_by(SubscriberRow.id)))


def test_twenty_concurrent_sign_ups_of_one_address_send_one_mail(smtp_services, sink):
    with LiveServer(smtp_services) as live:
        live.app.config["RATELIMIT_ENABLED"] = False  # the race is tested, not the limits
        sessions = []
        for _ in range(20):
            http = requests.Session()
            token = TOKEN.search(http.get(f"{live.url}/subscribe", timeout=10).text).group(1)
            sessions.append((http, token))
        barrier = threading.Barrier(20)
        statuses: list[int] = []

        def sign_up(http, token) -> None:
            barrier.wait()
            statuses.append(http.post(f"{live.url}/subscribe", data={
                "csrf_token": token, "email": "new.editor@example.org", "scope": "notable"},
                timeout=60, allow_redirects=False).status_code)

        threads = [threading.Thread(target=sign_up, args=s) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        smtp_services.shared(ConfirmationMailer).wait()
        for http, _ in sessions:
            http.close()
    assert statuses == [302] * 20
    assert len(sink.received) == 1
    assert sink.received[0].rcpt_tos == ["new.editor@example.org"]
    assert [r.email for r in rows(smtp_services)] == ["new.editor@example.org"]


# --- Confirmation links ---------------------------------------------------------------------

def sign_up(client, email: str, **extra: str):
    token = TOKEN.search(client.get("/subscribe").get_data(as_text=True)).group(1)
    response = client.post("/subscribe", data={"csrf_token": token, "email": email,
                                               "scope": "notable", **extra})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def last_link(services: Services, tmp_path) -> str:
    services.shared(ConfirmationMailer).wait()
    newest = max((tmp_path / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    raw = newest.read_bytes()
    body = base64.b64decode(raw.split(b"\r\n\r\n", 1)[1])
    return LINK.search(body.decode()).group(0)


def click(client, link: str):
    page = client.get(link)
    if page.status_code != 200:
        return page
    token = TOKEN.search(page.get_data(as_text=True)).group(1)
    return client.post(link, data={"csrf_token": token})


def the_row(services: Services, email: str) -> SubscriberRow:
    with services.database.session() as session:
        return subs.find(session, email)


def test_a_confirmation_link_works_once_and_is_audited(app, admin_services, tmp_path):
    client = app.test_client()
    sign_up(client, "editor@example.org")
    link = last_link(admin_services, tmp_path)
    done = click(client, link)
    assert done.status_code == 200 and "Đã xác nhận" in done.get_data(as_text=True)
    assert the_row(admin_services, "editor@example.org").receives
    with admin_services.database.session() as session:
        (entry,) = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "subscriber-confirm"))
        assert (entry.subject, entry.username) == ("editor@example.org", "(liên kết xác nhận)")
    # They unsubscribe themselves; the old link cannot bring them back.
    with admin_services.database.session() as session:
        subs.unsubscribe(session, subs.find(session, "editor@example.org"),
                         admin_services.clock.now())
    again = click(client, link)
    assert again.status_code == 404
    assert "đã được dùng" in again.get_data(as_text=True)
    assert not the_row(admin_services, "editor@example.org").receives
    # Signing up again (a minute later) sends a new link, which works.
    admin_services.clock.at += timedelta(minutes=1)
    sign_up(client, "editor@example.org")
    new_link = last_link(admin_services, tmp_path)
    assert new_link != link
    assert click(client, new_link).status_code == 200
    assert the_row(admin_services, "editor@example.org").receives


def test_an_administrators_deactivation_wins_over_any_link(app, admin, admin_services,
                                                           tmp_path):
    client = app.test_client()
    sign_up(client, "editor@example.org")
    link = last_link(admin_services, tmp_path)
    ident = the_row(admin_services, "editor@example.org").id
    admin.post(f"/admin/subscribers/{ident}/deactivate", page=f"/admin/subscribers/{ident}")
    row = the_row(admin_services, "editor@example.org")
    assert (row.active, row.deactivated_by) == (False, "admin")
    # The pending link (well within its week) does not turn the sending back on.
    for response in (client.get(link), click(client, link)):
        assert response.status_code == 403
        assert "Quản trị viên đã ngừng gửi thư" in response.get_data(as_text=True)
    assert not the_row(admin_services, "editor@example.org").active
    # Nor does a new sign-up: the same answer, no e-mail.
    before = len(list((tmp_path / "outbox").glob("*.eml")))
    admin_services.clock.at += timedelta(hours=1)
    sign_up(client, "editor@example.org")
    admin_services.shared(ConfirmationMailer).wait()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == before
    assert not the_row(admin_services, "editor@example.org").active
    # The administrator's reactivation lifts it.
    admin.post(f"/admin/subscribers/{ident}/reactivate", page=f"/admin/subscribers/{ident}")
    assert the_row(admin_services, "editor@example.org").deactivated_by is None


def test_a_confirmed_subscriber_deactivated_by_the_administrator_stays_off(app, admin,
                                                                          admin_services,
                                                                          tmp_path):
    client = app.test_client()
    sign_up(client, "editor@example.org")
    link = last_link(admin_services, tmp_path)
    click(client, link)
    ident = the_row(admin_services, "editor@example.org").id
    admin.post(f"/admin/subscribers/{ident}/deactivate", page=f"/admin/subscribers/{ident}")
    assert click(client, link).status_code == 403
    assert not the_row(admin_services, "editor@example.org").receives


def test_a_forged_or_tampered_link_is_a_404(client, loaded):
    assert client.get("/subscribe/confirm/abc.def").status_code == 404
    assert client.get("/subscribe/confirm/" + "x" * 3000).status_code == 404


# --- What the answer discloses -------------------------------------------------------------

def test_the_answer_takes_no_longer_for_an_unknown_address_than_for_a_known_one(
        smtp_services, sink):
    """Sending happens off the request thread: with a mail server taking 0.5 s a message,
    the sign-up of a new address answers as fast as that of a known one."""
    with smtp_services.database.session() as session:
        subs.add(session, subs.NewSubscriber.parse("known@example.org"),
                 smtp_services.clock.now())
    sink.handler.delay = 0.5
    from calendar_service.app import create_app

    app = create_app(smtp_services)
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    timings = {}
    for email in ("known@example.org", "unknown@example.org"):
        started = time.monotonic()
        sign_up(client, email)
        timings[email] = time.monotonic() - started
    assert timings["unknown@example.org"] < 0.3, timings
    smtp_services.shared(ConfirmationMailer).wait()
    assert [m.rcpt_tos for m in sink.received] == [["unknown@example.org"]]


def test_a_mail_server_failure_lets_the_person_ask_again_at_once(smtp_services, sink):
    from calendar_service.app import create_app

    app = create_app(smtp_services)
    client = app.test_client()
    sink.handler.rejected.add("bounce@example.org")
    sign_up(client, "bounce@example.org")
    smtp_services.shared(ConfirmationMailer).wait()
    assert the_row(smtp_services, "bounce@example.org").confirmation_sent_at is None
    sink.handler.rejected.clear()
    sign_up(client, "bounce@example.org")
    smtp_services.shared(ConfirmationMailer).wait()
    assert [m.rcpt_tos for m in sink.received] == [["bounce@example.org"]]


def test_the_link_uses_the_base_url_whatever_host_the_request_names(app, client, loaded,
                                                                    tmp_path):
    app.config["WTF_CSRF_ENABLED"] = False  # the cookie is the test host's, not evil's
    response = client.post("/subscribe", data={
        "email": "editor@example.org", "scope": "notable"},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]
    loaded.shared(ConfirmationMailer).wait()
    (mail,) = (tmp_path / "outbox").glob("*.eml")
    body = base64.b64decode(mail.read_bytes().split(b"\r\n\r\n", 1)[1]).decode()
    assert "http://127.0.0.1:5000/subscribe/confirm/" in body and "evil" not in body


def test_the_public_form_sets_no_webhook(client, loaded):
    """SSRF: a subscriber-supplied webhook would make the server post to any address
    (127.0.0.1, 169.254.169.254). The public form has no such field, and one posted anyway
    is ignored; only an administrator sets webhooks (docs/security.md)."""
    sign_up(client, "editor@example.org", webhook="http://169.254.169.254/latest/meta-data/",
            webhook_url="http://127.0.0.1:6379/")
    row = the_row(loaded, "editor@example.org")
    assert row.webhook_url is None and row.lead_days is None
