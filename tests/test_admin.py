"""The admin area through Flask's client with CSRF on (tokens read from the pages, as a
browser would), on SQLite and PostgreSQL: login and lockout, edits that show at once in the
feed and the reminder plan, the audit log, the interplay with `load`, the TOML export round
trip, subscribers, deliveries and the send-now button, and the `users` commands."""

from __future__ import annotations

import io
import re
import time
import zipfile
from datetime import date, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select

from calendar_service.admin import accounts
from calendar_service.admin.models import AdminUser
from calendar_service.app import create_app
from calendar_service.app_context import Services
from calendar_service.catalogue import load_catalogue, load_text
from calendar_service.cli import main
from calendar_service.delivery.models import DeliveryRow
from calendar_service.reminders import subscribers as subs
from calendar_service.reminders.models import SubscriberRow
from calendar_service.reminders.tick import run_tick
from calendar_service.store import (
    get_commemoration,
    list_commemorations,
    sync_catalogue,
)
from calendar_service.store.audit import AuditEntry
from tests.conftest import EVENTS_2024, NOW, ROOT, Cli, make_settings
from tests.smtp_sink import SMTPSink

PASSWORD = "mật khẩu đủ dài 2024"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A test client that, like a browser, sends the CSRF token of the page it came from."""

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def token(self, page: str) -> str:
        match = TOKEN.search(self.client.get(page).get_data(as_text=True))
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post(self, path: str, data: dict | None = None, *, page: str | None = None):
        """POST with the token of `page` (default: the admin home, or the login page)."""
        form = {"csrf_token": self.token(page or "/admin/"), **(data or {})}
        return self.client.post(path, data=form)

    def login(self, username: str = "admin", password: str = PASSWORD, next: str = ""):
        return self.post("/admin/login", {"username": username, "password": password,
                                          "next": next}, page="/admin/login")

    def text(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response.get_data(as_text=True)


def make_app(services: Services):
    app = create_app(services)
    app.testing = True
    return app


@pytest.fixture
def admin_services(loaded) -> Services:
    with loaded.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, loaded.clock.now())
    return loaded


@pytest.fixture
def app(admin_services):
    return make_app(admin_services)


@pytest.fixture
def browser(app) -> Browser:
    return Browser(app)


@pytest.fixture
def admin(browser) -> Browser:
    response = browser.login()
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    return browser


def stored(services: Services, ident: str):
    with services.database.session() as session:
        return get_commemoration(session, ident)


def audit_entries(services: Services) -> list[AuditEntry]:
    with services.database.session() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def feed_event(browser: Browser, ident: str, year: int):
    """The VEVENT of that commemoration in the year's feed (None when absent)."""
    response = browser.get(f"/calendar.ics?year={year}")
    assert response.status_code == 200
    calendar = Calendar.from_ical(response.data)
    found = [e for e in calendar.walk("VEVENT") if str(e["UID"]).startswith(f"{ident}-")]
    return found[0] if found else None


def edit_form(services: Services, ident: str, **changes: str) -> dict:
    """The edit form as the page shows it, with some fields changed."""
    c = stored(services, ident)
    form = {"revision": str(c.revision), "title": c.commemoration.title,
            "description": c.commemoration.description,
            "location": c.commemoration.location or "", "note": c.commemoration.note or "",
            "lead_days": ", ".join(map(str, c.commemoration.lead_days or ()))}
    return {**form, **changes}


def save(browser: Browser, services: Services, ident: str, **changes: str):
    return browser.post(f"/admin/events/{ident}", edit_form(services, ident, **changes),
                        page=f"/admin/events/{ident}")


# --- Login ----------------------------------------------------------------------------

def admin_urls(app) -> list[tuple[str, str]]:
    """(method, url) of every admin route but the login page, with sample arguments."""
    samples = {"ident": "tran-phu", "year": 2024}
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("admin.") or rule.endpoint == "admin.login":
                continue
            args = {a: (1 if rule.endpoint.startswith("admin.subscriber") and a == "ident"
                        else samples[a]) for a in rule.arguments}
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, url_for(rule.endpoint, **args)))
    return found


def test_every_admin_route_redirects_to_login_when_logged_out(app, browser, admin_services):
    urls = admin_urls(app)
    assert len(urls) >= 15
    token = browser.token("/admin/login")
    for method, url in urls:
        response = browser.client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/admin/login"), (method, url)
    assert stored(admin_services, "tran-phu").revision == 1  # nothing was changed
    # A GET comes back to where it was going after the login.
    response = browser.get("/admin/events/tran-phu")
    assert response.headers["Location"] == "/admin/login?next=/admin/events/tran-phu"
    assert browser.login(next="/admin/events/tran-phu").headers["Location"] == \
        "/admin/events/tran-phu"


def test_wrong_password_and_unknown_user_get_the_same_generic_answer(browser):
    wrong = browser.login(password="not the password")
    unknown = browser.login(username="nobody")
    for response in (wrong, unknown):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in page
    assert browser.get("/admin/").status_code == 302  # still logged out


def test_five_failures_lock_the_account_for_fifteen_minutes(browser, admin_services, clock):
    for _ in range(5):
        assert "không đúng" in browser.login(password="wrong password").get_data(as_text=True)
    with admin_services.database.session() as session:
        user = accounts.find_user(session, "admin")
        assert user.locked_until == NOW + timedelta(minutes=15)
    # Locked: even the right password gets the same generic answer.
    locked = browser.login()
    assert locked.status_code == 200
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in locked.get_data(as_text=True)
    clock.at = NOW + timedelta(minutes=14, seconds=59)
    assert browser.login().status_code == 200
    clock.at = NOW + timedelta(minutes=15)
    assert browser.login().status_code == 302
    with admin_services.database.session() as session:
        user = accounts.find_user(session, "admin")
        assert (user.failed_attempts, user.locked_until) == (0, None)
        assert user.last_login_at == clock.at


def test_a_failed_login_answers_without_sleeping_in_the_worker(browser):
    """Guessing is slowed by the rate limits and the lockout, not by a sleep that would hold
    a worker thread (test_security_limits.py)."""
    token = browser.token("/admin/login")
    started = time.monotonic()
    response = browser.client.post("/admin/login", data={
        "csrf_token": token, "username": "nobody", "password": "whatever it is"})
    assert response.status_code == 200
    assert time.monotonic() - started < 0.45


def test_login_rotates_the_session_and_sets_safe_cookie_flags(browser):
    before = browser.token("/admin/login")
    response = browser.post("/admin/login", {"username": "admin", "password": PASSWORD},
                            page="/admin/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # The session was cleared: a token from before the login is worth nothing now.
    stale = browser.client.post("/admin/events/tran-phu/cancel", data={"csrf_token": before})
    assert stale.status_code == 400
    assert browser.token("/admin/") != before


def test_the_login_never_redirects_off_site(browser):
    for target in ("https://evil.example/", "//evil.example/admin/", "/\\evil.example",
                   "/events/tran-phu"):
        response = browser.login(next=target)
        assert response.headers["Location"] == "/admin/", target
        browser.post("/admin/logout")


def test_logout_ends_the_session(admin):
    response = admin.post("/admin/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/login"
    assert admin.get("/admin/").status_code == 302


def test_a_new_password_ends_existing_sessions(admin, admin_services):
    assert admin.get("/admin/").status_code == 200
    with admin_services.database.session() as session:
        accounts.set_password(session, "admin", "another long password")
    assert admin.get("/admin/").status_code == 302


def test_a_post_without_csrf_token_is_refused(admin, admin_services):
    response = admin.client.post("/admin/events/tran-phu/cancel")
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in response.get_data(as_text=True)
    assert admin.client.post("/admin/events/tran-phu", data=edit_form(
        admin_services, "tran-phu", title="Không token")).status_code == 400
    assert not stored(admin_services, "tran-phu").cancelled
    assert stored(admin_services, "tran-phu").commemoration.title == \
        "Ngày sinh đồng chí Trần Phú"


# --- Editing --------------------------------------------------------------------------

def test_the_list_shows_active_and_cancelled_with_status_and_revision(admin, admin_services):
    admin.post("/admin/events/thuong-duc/cancel")
    page = admin.text("/admin/")
    assert "Chiến thắng Điện Biên Phủ" in page and "Chiến thắng Thượng Đức" in page
    assert "đã hủy (quản trị)" in page
    row = re.search(r"thuong-duc</span></td>.*?</tr>", page, re.DOTALL).group(0)
    assert '<td data-label="Phiên bản">2</td>' in row


def test_an_edit_bumps_the_revision_and_shows_at_once_in_feed_and_planner(
        database, db_url, tmp_path, clock):
    # The feed cache re-reads the data version once an hour here: only the edit's own
    # invalidation can make the new revision show at once.
    admin_services = Services(make_settings(db_url, tmp_path,
                                            CALENDAR_FEED_VERSION_CHECK_SECONDS="3600"),
                              clock=clock, _database=database)
    with database.session() as session:
        sync_catalogue(session, load_catalogue([EVENTS_2024]), NOW)
        accounts.create_user(session, "admin", PASSWORD, NOW)
    admin = Browser(make_app(admin_services))
    admin.login()
    before = feed_event(admin, "tran-phu", 2027)
    assert before["SEQUENCE"] == 1
    with admin_services.database.session() as session:
        subs.add(session, subs.NewSubscriber.parse("editor@example.org", scope="all"), NOW)
    as_of = datetime(2027, 3, 17, 8, 0, tzinfo=clock.tz)  # 45 days before 01/5/2027
    assert not [line for line in run_tick(admin_services, as_of, dry_run=True).would_send
                if line.startswith("tran-phu 2027 −45d")]

    response = save(admin, admin_services, "tran-phu",
                    title="Ngày sinh Tổng Bí thư Trần Phú", lead_days="45, 3")
    assert response.status_code == 302
    assert "Đã lưu thay đổi." in admin.text("/admin/events/tran-phu")

    after = stored(admin_services, "tran-phu")
    assert after.revision == 2 and after.updated_at == NOW
    assert after.commemoration.lead_days == (45, 3)
    event = feed_event(admin, "tran-phu", 2027)
    assert event["SEQUENCE"] == 2
    assert str(event["SUMMARY"]) == \
        "Kỷ niệm 123 năm Ngày sinh Tổng Bí thư Trần Phú (01/5/1904 – 01/5/2027)"
    assert [line for line in run_tick(admin_services, as_of, dry_run=True).would_send
            if line.startswith("tran-phu 2027 −45d email")]


def test_saving_without_a_change_keeps_the_revision(admin, admin_services):
    save(admin, admin_services, "tran-phu")
    assert "Không có thay đổi nào." in admin.text("/admin/events/tran-phu")
    assert stored(admin_services, "tran-phu").revision == 1
    assert audit_entries(admin_services) == []


def test_the_audit_log_records_who_when_and_what(admin, admin_services):
    save(admin, admin_services, "tran-phu", location="Tùng Ảnh, Đức Thọ, Hà Tĩnh",
         lead_days="30, 7")
    (entry,) = audit_entries(admin_services)
    assert (entry.username, entry.action, entry.commemoration_id, entry.at) == \
        ("admin", "edit", "tran-phu", NOW)
    assert entry.changes == {
        "location": {"before": None, "after": "Tùng Ảnh, Đức Thọ, Hà Tĩnh"},
        "lead_days": {"before": None, "after": [30, 7]},
    }
    page = admin.text("/admin/audit")
    assert "27/11/2026 09:00" in page and "admin" in page and "Sửa nội dung" in page
    assert "Tùng Ảnh, Đức Thọ, Hà Tĩnh" in page and "30, 7" in page
    assert 'href="/admin/events/tran-phu"' in page


def test_the_audit_log_is_newest_first_and_paged(admin, admin_services, clock):
    for minute in range(55):
        clock.at = NOW + timedelta(minutes=minute)
        save(admin, admin_services, "tran-phu", note=f"Ghi chú số {minute}")
    first = admin.text("/admin/audit")
    assert first.index("→ Ghi chú số 54") < first.index("→ Ghi chú số 53")
    assert "Trang 1/2" in first and "Ghi chú số 4<" not in first
    second = admin.text("/admin/audit?page=2")
    assert "Ghi chú số 4<" in second and "Ghi chú số 0<" in second
    assert admin.get("/admin/audit?page=zero").status_code == 400


@pytest.mark.parametrize("changes, message", [
    ({"title": "   "}, "Tên: không được để trống."),
    ({"description": ""}, "Mô tả: không được để trống."),
    ({"title": "x" * 301}, "Tên: tối đa 300 ký tự."),
    ({"lead_days": "0, 7"}, "Số ngày nhắc trước phải từ 1 đến 366; không hợp lệ: 0."),
    ({"lead_days": "400"}, "không hợp lệ: 400."),
    ({"lead_days": "7, 7"}, "Số ngày nhắc trước bị lặp: 7, 7."),
    ({"lead_days": "bảy"}, "ghi các số nguyên cách nhau bằng dấu phẩy"),
    ({"location": "Hà Nội\nBcc: x"}, "Địa điểm: không được chứa xuống dòng"),
])
def test_a_bad_value_is_refused_with_a_vietnamese_message(admin, admin_services, changes,
                                                          message):
    response = save(admin, admin_services, "tran-phu", **changes)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert stored(admin_services, "tran-phu").revision == 1


def test_a_save_over_a_newer_revision_is_refused(admin, admin_services):
    stale = edit_form(admin_services, "tran-phu", title="Bản cũ")
    save(admin, admin_services, "tran-phu", note="Người khác sửa trước")
    admin.post("/admin/events/tran-phu", stale, page="/admin/events/tran-phu")
    assert "vừa được thay đổi" in admin.text("/admin/events/tran-phu")
    current = stored(admin_services, "tran-phu")
    assert current.revision == 2 and current.commemoration.title == "Ngày sinh đồng chí Trần Phú"


def test_text_is_normalised_like_the_catalogue_loader(admin, admin_services):
    decomposed = "Tra\u0302\u0300n Phu\u0301"  # NFD, as some keyboards send it
    save(admin, admin_services, "tran-phu", note=f"  {decomposed}\r\ndòng hai  ")
    assert stored(admin_services, "tran-phu").commemoration.note == "Trần Phú\ndòng hai"


def test_cancel_and_restore(admin, admin_services):
    assert admin.post("/admin/events/dien-bien-phu/cancel").status_code == 302
    assert stored(admin_services, "dien-bien-phu").cancelled
    event = feed_event(admin, "dien-bien-phu", 2027)
    assert (str(event["STATUS"]), event["SEQUENCE"]) == ("CANCELLED", 2)
    admin.post("/admin/events/dien-bien-phu/restore")
    event = feed_event(admin, "dien-bien-phu", 2027)
    assert (str(event["STATUS"]), event["SEQUENCE"]) == ("CONFIRMED", 3)
    assert [(e.action, e.changes) for e in audit_entries(admin_services)] == [
        ("cancel", {"status": {"before": "active", "after": "cancelled"}}),
        ("restore", {"status": {"before": "cancelled", "after": "active"}}),
    ]


def test_an_entry_removed_from_the_file_is_restored_only_through_the_file(
        admin, admin_services, tmp_path, cli):
    catalogue = load_catalogue([EVENTS_2024])
    with admin_services.database.session() as session:
        sync_catalogue(session, type(catalogue)(catalogue.files, tuple(
            c for c in catalogue.commemorations if c.id != "thuong-duc")), NOW)
    page = admin.text("/admin/events/thuong-duc")
    assert "đã gỡ khỏi tệp danh mục" in page and "/admin/events/thuong-duc/restore" not in page
    admin.post("/admin/events/thuong-duc/restore", page="/admin/events/thuong-duc")
    assert "hãy thêm lại vào tệp" in admin.text("/admin/events/thuong-duc")
    assert stored(admin_services, "thuong-duc").cancelled


def test_an_observance_day_for_a_year_only_commemoration(admin, admin_services):
    assert feed_event(admin, "huynh-ngoc-hue", 2027) is None  # no invented day
    admin.post("/admin/events/huynh-ngoc-hue/observances", {"observed_on": "2027-08-09"},
               page="/admin/events/huynh-ngoc-hue")
    event = feed_event(admin, "huynh-ngoc-hue", 2027)
    assert event["DTSTART"].dt == date(2027, 8, 9) and event["SEQUENCE"] == 2
    # Setting it again moves it; clearing it removes the event again.
    admin.post("/admin/events/huynh-ngoc-hue/observances", {"observed_on": "2027-08-10"},
               page="/admin/events/huynh-ngoc-hue")
    assert feed_event(admin, "huynh-ngoc-hue", 2027)["DTSTART"].dt == date(2027, 8, 10)
    admin.post("/admin/events/huynh-ngoc-hue/observances/2027/clear",
               page="/admin/events/huynh-ngoc-hue")
    assert feed_event(admin, "huynh-ngoc-hue", 2027) is None
    assert stored(admin_services, "huynh-ngoc-hue").revision == 4
    assert [e.changes for e in audit_entries(admin_services)] == [
        {"observed_on[2027]": {"before": None, "after": "2027-08-09"}},
        {"observed_on[2027]": {"before": "2027-08-09", "after": "2027-08-10"}},
        {"observed_on[2027]": {"before": "2027-08-10", "after": None}},
    ]
    assert "Ngày tổ chức năm 2027" in admin.text("/admin/audit")


@pytest.mark.parametrize("ident, day, message", [
    ("huynh-ngoc-hue", "1914-08-09", "Năm tổ chức phải sau năm 1914"),
    ("huynh-ngoc-hue", "09/08/2027", "Ngày không hợp lệ (dạng YYYY-MM-DD)."),
    ("dien-bien-phu", "2027-05-08", "Chỉ đặt ngày tổ chức cho ngày kỷ niệm chỉ biết năm."),
])
def test_a_bad_observance_day_is_refused(admin, admin_services, ident, day, message):
    admin.post(f"/admin/events/{ident}/observances", {"observed_on": day},
               page=f"/admin/events/{ident}")
    assert message in admin.text(f"/admin/events/{ident}")
    assert stored(admin_services, ident).revision == 1


def test_unknown_commemorations_are_404(admin):
    assert admin.get("/admin/events/khong-co").status_code == 404
    assert admin.post("/admin/events/khong-co/cancel").status_code == 404


def test_a_script_in_a_description_is_shown_as_text_everywhere(admin, admin_services):
    attack = '<script>alert("xss")</script>'
    save(admin, admin_services, "tran-phu", description=f"Mô tả {attack}",
         title=f"Trần Phú {attack}")
    for path in ("/events/tran-phu", "/admin/events/tran-phu", "/admin/", "/admin/audit"):
        page = admin.text(path)
        assert "<script>" not in page, path
        assert "&lt;script&gt;" in page, path


# --- Load and admin edits -------------------------------------------------------------

def write_catalogue(tmp_path, name: str = "2024.toml", **replacements: str):
    text = EVENTS_2024.read_text(encoding="utf-8")
    for old, new in replacements.items():
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reloading_the_unchanged_file_keeps_the_admin_edit(admin, admin_services, cli):
    save(admin, admin_services, "tran-phu", title="Ngày sinh Tổng Bí thư Trần Phú")
    result = cli("load", str(EVENTS_2024))
    assert result.exit_code == 0
    assert "0 added, 0 updated, 0 restored, 0 cancelled, 12 unchanged" in result.stdout
    after = stored(admin_services, "tran-phu")
    assert after.commemoration.title == "Ngày sinh Tổng Bí thư Trần Phú"
    assert after.revision == 2


def test_a_changed_entry_in_the_file_overwrites_the_admin_edit(admin, admin_services, cli,
                                                               tmp_path, clock):
    save(admin, admin_services, "tran-phu", title="Ngày sinh Tổng Bí thư Trần Phú")
    path = write_catalogue(tmp_path, **{
        'title = "Ngày sinh đồng chí Trần Phú"\n':
            'title = "Ngày sinh đồng chí Trần Phú"\nnote = "Đã đối chiếu tiểu sử."\n'})
    clock.at = NOW + timedelta(days=1)
    result = cli("load", str(path))
    assert "updated: tran-phu" in result.stdout
    after = stored(admin_services, "tran-phu")
    assert after.commemoration.title == "Ngày sinh đồng chí Trần Phú"
    assert after.commemoration.note == "Đã đối chiếu tiểu sử."
    assert after.revision == 3 and after.updated_at == clock.at


def test_an_admin_cancellation_survives_reloading_the_unchanged_file(admin, admin_services,
                                                                     cli):
    admin.post("/admin/events/thuong-duc/cancel")
    result = cli("load", str(EVENTS_2024))
    assert "0 restored" in result.stdout and "12 unchanged" in result.stdout
    after = stored(admin_services, "thuong-duc")
    assert after.cancelled and after.revision == 2
    assert str(feed_event(admin, "thuong-duc", 2027)["STATUS"]) == "CANCELLED"


def test_a_changed_entry_in_the_file_restores_an_admin_cancellation(admin, admin_services,
                                                                    cli, tmp_path):
    admin.post("/admin/events/thuong-duc/cancel")
    path = write_catalogue(tmp_path, **{'title = "Chiến thắng Thượng Đức"':
                                        'title = "Chiến thắng Thượng Đức năm 1974"'})
    assert "restored: thuong-duc" in cli("load", str(path)).stdout
    after = stored(admin_services, "thuong-duc")
    assert not after.cancelled and after.revision == 3


def test_an_entry_removed_and_added_back_to_the_file_is_restored(admin, admin_services, cli,
                                                                 tmp_path):
    admin.post("/admin/events/thuong-duc/cancel")
    text = EVENTS_2024.read_text(encoding="utf-8")
    start = text.index('[[commemoration]]\nid = "thuong-duc"')
    end = text.index("[[commemoration]]", start + 1)
    without = tmp_path / "without.toml"
    without.write_text(text[:start] + text[end:], encoding="utf-8")
    assert "0 cancelled" in cli("load", str(without)).stdout  # it already was
    assert "restored: thuong-duc" in cli("load", str(EVENTS_2024)).stdout


# --- Export ---------------------------------------------------------------------------

def active_values(services: Services):
    with services.database.session() as session:
        return [s.commemoration for s in list_commemorations(session)]


def edit_a_little_of_everything(admin: Browser, services: Services) -> None:
    save(admin, services, "tran-phu", title='Ngày sinh "Tổng Bí thư" Trần Phú',
         description="Dòng một.\nDòng hai với \\ và \t.", lead_days="45, 3", note="")
    save(admin, services, "dien-bien-phu", location="", note="Ghi chú # không phải chú thích")
    for ident, day in (("huynh-ngoc-hue", "2027-08-09"), ("me-nguyen-thi-thu", "2025-07-26"),
                       ("me-nguyen-thi-thu", "2024-07-28")):
        admin.post(f"/admin/events/{ident}/observances", {"observed_on": day},
                   page=f"/admin/events/{ident}")
    admin.post("/admin/events/thuong-duc/cancel")


def test_export_round_trip(admin, admin_services, cli, tmp_path):
    edit_a_little_of_everything(admin, admin_services)
    response = admin.get("/admin/export")
    assert response.status_code == 200
    assert response.mimetype == "application/toml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="2024.toml"'
    text = response.get_data(as_text=True)
    exported = load_text(text, "2024.toml")
    assert list(exported.commemorations) == active_values(admin_services)
    assert "thuong-duc" not in text  # cancelled: not in the catalogue
    assert "observances = [\n    2027-08-09,\n]" in text
    (header,) = exported.files
    assert header.designates == 2024 and header.directive.startswith("Chỉ thị của Chủ tịch")
    # `check` accepts the file, and loading it changes nothing the subscribers can see.
    path = tmp_path / "2024.toml"
    path.write_bytes(response.data)
    assert cli("check", str(path)).exit_code == 0
    revisions = {c.commemoration.id: c.revision for c in _all(admin_services)}
    result = cli("load", str(path))
    assert "0 added, 0 updated, 0 restored, 0 cancelled, 11 unchanged" in result.stdout
    assert {c.commemoration.id: c.revision for c in _all(admin_services)} == revisions


def _all(services: Services):
    with services.database.session() as session:
        return list_commemorations(session, include_cancelled=True)


def test_several_designated_years_export_as_a_zip(admin, admin_services, cli, tmp_path):
    extra = tmp_path / "2025.toml"
    extra.write_text("""\
[catalogue]
designates = 2025
directive = "Chỉ thị năm 2025"
theme = "Chủ đề năm 2025"

[[commemoration]]
id = "giai-phong-quang-nam"
title = "Ngày giải phóng tỉnh Quảng Nam"
origin = 1975-03-24
category = "historic-event"
description = "Ngày 24/3/1975, tỉnh Quảng Nam được hoàn toàn giải phóng."
source = "Chỉ thị năm 2025, mục I.7"
""", encoding="utf-8")
    assert cli("load", str(EVENTS_2024), str(extra)).exit_code == 0
    response = admin.get("/admin/export")
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="catalogue-20261127.zip"'
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == ["2024.toml", "2025.toml"]
        out = tmp_path / "out"
        archive.extractall(out)
    catalogue = load_catalogue(sorted(out.glob("*.toml")))
    assert list(catalogue.commemorations) == active_values(admin_services)
    assert [f.designates for f in catalogue.files] == [2024, 2025]


def test_the_whole_default_catalogue_exports_and_reloads_unchanged(admin, admin_services, cli,
                                                                   tmp_path):
    """events/*.toml and a 2025 designation file: directives, standing lists, designations
    of entries defined elsewhere and renames all come back; reloading changes nothing."""
    files = sorted((ROOT / "events").glob("*.toml")) + [ROOT / "tests" / "data" / "2025.toml"]
    assert cli("load", *map(str, files)).exit_code == 0
    response = admin.get("/admin/export")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == ["2024.toml", "2025.toml", "national.toml",
                                      "quang-nam.toml"]
        out = tmp_path / "out"
        archive.extractall(out)
    assert "[[rename]]" in (out / "quang-nam.toml").read_text()
    exported = sorted(out.glob("*.toml"))
    assert cli("check", *map(str, exported)).exit_code == 0
    revisions = {c.commemoration.id: c.revision for c in _all(admin_services)}
    result = cli("load", *map(str, exported), str(ROOT / "events" / "agencies.toml"),
                 str(ROOT / "events" / "plans.toml"))
    assert "0 added, 0 updated, 0 restored, 0 cancelled, 49 unchanged" in result.stdout
    assert {c.commemoration.id: c.revision for c in _all(admin_services)} == revisions
    with admin_services.database.session() as session:
        from calendar_service.store.queries import renames

        assert len(renames(session)) == 3


def test_export_writes_standing_lists_and_designations_back(admin, admin_services, cli,
                                                            tmp_path):
    """A standing list and a directive that only names entries defined elsewhere come back
    as such: loading the export changes nothing."""
    standing = tmp_path / "national.toml"
    standing.write_text("""\
[catalogue]
name = "Ngày lễ lớn"
source = "Hướng dẫn thử"

[[commemoration]]
id = "quoc-khanh"
title = "Ngày Quốc khánh"
origin = 1945-09-02
category = "national-day"
description = "Mô tả."
""", encoding="utf-8")
    designating = tmp_path / "2025.toml"
    designating.write_text("""\
[catalogue]
designates = 2025
directive = "Chỉ thị năm 2025"
theme = "Chủ đề"

[[designation]]
id = "quoc-khanh"
ordinal = 80

[[designation]]
id = "dien-bien-phu"
""", encoding="utf-8")
    assert cli("load", str(EVENTS_2024), str(standing), str(designating)).exit_code == 0
    response = admin.get("/admin/export")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == ["2024.toml", "2025.toml", "national.toml"]
        out = tmp_path / "out"
        archive.extractall(out)
    assert "[[designation]]" in (out / "2025.toml").read_text()
    revisions = {c.commemoration.id: c.revision for c in _all(admin_services)}
    result = cli("load", *map(str, sorted(out.glob("*.toml"))))
    assert "0 added, 0 updated, 0 restored, 0 cancelled, 13 unchanged" in result.stdout
    assert {c.commemoration.id: c.revision for c in _all(admin_services)} == revisions


# --- Subscribers and deliveries -------------------------------------------------------

def test_add_deactivate_and_reactivate_a_subscriber(admin, admin_services):
    response = admin.post("/admin/subscribers", {
        "email": "Bien.Tap@BaoQuangNam.vn", "name": "Ban biên tập", "organisation": "Báo Quảng Nam",
        "categories": ["victory", "founding"], "scope": "all", "lead_days": "30, 7",
        "webhook": ""}, page="/admin/subscribers")
    assert response.status_code == 302
    page = admin.text("/admin/subscribers")
    assert "Đã thêm người nhận Bien.Tap@baoquangnam.vn." in page
    assert "Báo Quảng Nam" in page and "Ngày thành lập, Chiến thắng" in page
    assert "đang nhận" in page and "27/11/2026 09:00" in page
    with admin_services.database.session() as session:
        row = subs.find(session, "bien.tap@baoquangnam.vn")
        assert row.confirmed_at == NOW and row.lead_days == [30, 7] and row.scope == "all"
        ident = row.id
    admin.post(f"/admin/subscribers/{ident}/deactivate", page=f"/admin/subscribers/{ident}")
    assert "đã hủy" in admin.text(f"/admin/subscribers/{ident}")
    with admin_services.database.session() as session:
        assert not session.get(SubscriberRow, ident).active
    admin.post(f"/admin/subscribers/{ident}/reactivate", page=f"/admin/subscribers/{ident}")
    with admin_services.database.session() as session:
        row = session.get(SubscriberRow, ident)
        assert row.active and row.unsubscribed_at is None
    assert [e.action for e in audit_entries(admin_services)] == [
        "subscriber-add", "subscriber-deactivate", "subscriber-reactivate"]


def test_the_subscriber_list_is_paged_and_searchable(admin, admin_services):
    with admin_services.database.session() as session:
        for i in range(55):
            subs.add(session, subs.NewSubscriber.parse(
                f"editor{i:02d}@example.org", name="Đức Anh" if i == 42 else None,
                organisation="Báo 100%_thật" if i == 7 else None), NOW)
    first, second = admin.text("/admin/subscribers"), admin.text("/admin/subscribers?page=2")
    assert first.count("@example.org</a>") == 50 and "Trang 1/2 · 55 mục" in first
    assert second.count("@example.org</a>") == 5 and "editor54@example.org" in second
    found = admin.text("/admin/subscribers?q=Đức")  # a name, with its capital Đ as typed
    assert found.count("@example.org</a>") == 1 and "editor42@example.org" in found
    assert admin.text("/admin/subscribers?q=EDITOR0").count("@example.org</a>") == 10
    literal = admin.text("/admin/subscribers?q=100%25_")  # % and _ are not wildcards
    assert literal.count("@example.org</a>") == 1 and "editor07@example.org" in literal
    assert "Không có người nhận nào khớp" in admin.text("/admin/subscribers?q=nobody")
    assert admin.get("/admin/subscribers?page=0").status_code == 400


@pytest.mark.parametrize("email, message", [
    ("not-an-address", "Địa chỉ e-mail phải có ký tự @."),
    ("editor@example.org", "editor@example.org đã đăng ký"),
])
def test_a_bad_or_known_address_is_refused(admin, admin_services, email, message):
    with admin_services.database.session() as session:
        subs.add(session, subs.NewSubscriber.parse("editor@example.org"), NOW)
    response = admin.post("/admin/subscribers", {"email": email, "scope": "notable"},
                          page="/admin/subscribers")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


@pytest.fixture
def sink():
    server = SMTPSink().start()
    yield server
    server.stop()


def _admin_on_the_day(database, db_url, tmp_path, clock, sink, subscriber: str):
    """30/4/2024 08:00, the 2024 catalogue, one subscriber to Chiến thắng, mail to `sink`,
    and a logged-in administrator's browser."""
    services = Services(make_settings(db_url, tmp_path, CALENDAR_MAIL_URL=sink.url),
                        clock=clock, _database=database)
    clock.at = datetime(2024, 4, 30, 8, 0, tzinfo=clock.tz)
    with database.session() as session:
        sync_catalogue(session, load_catalogue([EVENTS_2024]), clock.at)
        accounts.create_user(session, "admin", PASSWORD, clock.at)
        subs.add(session, subs.NewSubscriber.parse(subscriber, categories=["victory"]),
                 clock.at)
    browser = Browser(make_app(services))
    browser.login()
    return services, browser


def test_send_now_delivers_through_smtp_and_the_log_shows_it(database, db_url, tmp_path,
                                                             clock, sink):
    services, browser = _admin_on_the_day(database, db_url, tmp_path, clock, sink,
                                          "editor@example.org")
    response = browser.post("/admin/deliveries/send", page="/admin/deliveries")
    assert response.status_code == 302
    page = browser.text("/admin/deliveries")
    # 60, 30 and 14 days ahead were missed before the first tick: recorded as skipped.
    assert "Đã gửi 1 thư nhắc; bỏ qua 3; chờ gửi lại 0; lỗi 0." in page
    (received,) = sink.received
    assert received.message["Subject"] == \
        "[Lịch kỷ niệm] Còn 7 ngày: Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ (07/5/2024)"
    with database.session() as session:
        (delivery,) = session.scalars(select(DeliveryRow).where(DeliveryRow.status == "sent"))
        ident = delivery.subscriber_id
    assert delivery.status == "sent" and delivery.message_id == received.message["Message-ID"]
    assert "đã gửi" in page and delivery.message_id.strip("<>") in page
    assert "Chiến thắng Điện Biên Phủ" in page and "editor@example.org" in page
    assert "Chiến thắng Điện Biên Phủ" in browser.text(f"/admin/subscribers/{ident}")
    assert "Chưa có thư nhắc nào." in browser.text("/admin/deliveries?status=failed")
    assert browser.get("/admin/deliveries?status=lost").status_code == 400
    (entry,) = audit_entries(services)
    assert entry.action == "send-now" and entry.changes["sent"]["after"] == 1
    # Pressed again: nothing is sent twice.
    browser.post("/admin/deliveries/send", page="/admin/deliveries")
    assert len(sink.received) == 1


def test_failed_deliveries_show_their_error(database, db_url, tmp_path, clock, sink):
    sink.handler.rejected.add("gone@example.org")
    _, browser = _admin_on_the_day(database, db_url, tmp_path, clock, sink, "gone@example.org")
    browser.post("/admin/deliveries/send", page="/admin/deliveries")
    page = browser.text("/admin/deliveries?status=failed")
    assert "lỗi 1" in page
    assert "No such user here" in page


# --- The users command ----------------------------------------------------------------

def run(cli: Cli, *args: str, input: str | None = None):
    return cli.runner.invoke(main, list(args), obj=cli.services, input=input,
                             catch_exceptions=False)


def test_users_add_reads_the_password_from_stdin(cli, services):
    result = run(cli, "users", "add", "Admin", input=f"{PASSWORD}\n")
    assert result.exit_code == 0 and result.stdout == "added admin user admin\n"
    with services.database.session() as session:
        user = session.scalar(select(AdminUser))
        assert user.username == "admin" and user.created_at == NOW
        assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    browser = Browser(make_app(services))
    assert browser.login().status_code == 302
    listed = run(cli, "users", "list")
    assert listed.stdout.startswith("admin\tcreated 2026-11-27 09:00\tlast login 2026-11-27")


@pytest.mark.parametrize("args, password, message", [
    (["users", "add", "admin"], "short\n", "at least 10 characters long (got 5)"),
    (["users", "add", "admin"], "", "at least 10 characters"),
    (["users", "add", "no spaces"], f"{PASSWORD}\n", "invalid user name"),
    (["users", "passwd", "nobody"], f"{PASSWORD}\n", "no user 'nobody'"),
])
def test_users_errors_are_clear_and_exit_1(cli, services, args, password, message):
    result = run(cli, *args, input=password)
    assert result.exit_code == 1
    assert message in result.stderr
    with services.database.session() as session:
        assert session.scalar(select(AdminUser)) is None


def test_users_add_twice_and_passwd(cli, services):
    run(cli, "users", "add", "admin", input=f"{PASSWORD}\n")
    again = run(cli, "users", "add", "admin", input=f"{PASSWORD}\n")
    assert again.exit_code == 1 and "already exists" in again.stderr
    assert run(cli, "users", "passwd", "admin", input="a brand new passphrase\n").exit_code == 0
    browser = Browser(make_app(services))
    assert browser.login().status_code == 200
    assert browser.login(password="a brand new passphrase").status_code == 302


def test_users_unlock_and_remove(cli, services):
    run(cli, "users", "add", "admin", input=f"{PASSWORD}\n")
    run(cli, "users", "add", "editor", input=f"{PASSWORD}\n")
    browser, other = Browser(make_app(services)), Browser(make_app(services))
    for _ in range(5):
        browser.login(password="wrong password")
    assert browser.login().status_code == 200  # locked
    assert "locked until" in run(cli, "users", "list").stdout
    assert run(cli, "users", "unlock", "admin").stdout == "unlocked admin\n"
    assert browser.login().status_code == 302  # the same password works again
    assert other.login("editor").status_code == 302
    assert other.get("/admin/").status_code == 200
    assert run(cli, "users", "remove", "Editor").stdout == "removed admin user editor\n"
    assert other.get("/admin/").status_code == 302  # signed out at once
    assert [line.split("\t")[0] for line in run(cli, "users", "list").stdout.splitlines()] == [
        "admin"]
    for command in ("remove", "unlock"):
        missing = run(cli, "users", command, "editor")
        assert missing.exit_code == 1 and "no user 'editor'" in missing.stderr


def test_users_add_asks_twice_on_a_terminal(cli, services, monkeypatch):
    import click

    prompts = []

    def fake_prompt(text, **options):
        prompts.append((text, options))
        return PASSWORD

    monkeypatch.setattr("calendar_service.admin.cli._stdin_is_terminal", lambda: True)
    monkeypatch.setattr(click, "prompt", fake_prompt)
    assert run(cli, "users", "add", "admin").exit_code == 0
    assert prompts == [("Password", {"hide_input": True, "confirmation_prompt": True})]
