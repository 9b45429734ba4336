"""The pages in a real headless Chromium (Debian's, driven by Playwright) over real HTTP."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest

from calendar_service.app_context import Services
from calendar_service.reminders.confirmations import ConfirmationMailer
from calendar_service.reminders.models import SubscriberRow
from tests.conftest import ROOT, make_settings
from tests.live import LiveServer
from tests.smtp_sink import SMTPSink

CHROMIUM = os.environ.get("CALENDAR_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Chromium: {CHROMIUM} is not installed (.ci/run installs Debian's chromium)")


@pytest.fixture
def db_url(tmp_path):
    """Pages are the same on every backend (the store tests cover PostgreSQL): SQLite here."""
    return f"sqlite:///{tmp_path / 'calendar.db'}"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # The flags keep Chromium off the network: this machine reaches nothing outside.
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def sink():
    server = SMTPSink().start()
    yield server
    server.stop()


@pytest.fixture
def live(loaded, db_url, tmp_path, sink):
    # Absolute links (e-mails, feeds) must point at this server: set the base URL after
    # the port is known.
    settings = make_settings(db_url, tmp_path, CALENDAR_MAIL_URL=sink.url)
    services = Services(settings, clock=loaded.clock, _database=loaded.database)
    with LiveServer(services) as server:
        object.__setattr__(services.settings, "base_url", server.url)
        yield server


@pytest.fixture
def page(browser, live):
    context = browser.new_context(locale="vi-VN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    csp: list[str] = []
    page.on("request", lambda r: None if r.url.startswith((live.url, "data:"))
            else outside.append(r.url))
    page.on("console", lambda m: csp.append(m.text) if "Content Security Policy" in m.text
            else None)
    yield page
    context.close()
    assert outside == [], f"assets from outside the server: {outside}"
    assert csp == [], f"CSP violations: {csp}"


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_upcoming_from_20_april_2024(page, live, loaded):
    loaded.clock.at = datetime(2024, 4, 20, 9, tzinfo=loaded.clock.tz)  # "today" is 20/4/2024
    page.goto(f"{live.url}/?from=2024-04-20")
    text = page.inner_text("main")
    assert "còn 11 ngày" in text and "còn 17 ngày" in text
    assert "Kỷ niệm 120 năm Ngày sinh đồng chí Trần Phú" in text
    assert "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in text
    assert "Thứ Tư, 01/5/2024" in text and "Thứ Ba, 07/5/2024" in text
    assert "Tháng 5 năm 2024" in text and "Theo Chỉ thị năm 2024" in text and "Năm tròn" in text
    assert page.locator("html").get_attribute("lang") == "vi"
    shot(page, "upcoming")


def test_category_filter_and_accent_insensitive_search(page, live):
    page.goto(f"{live.url}/?from=2024-04-20")
    page.get_by_label("Chiến thắng").check()
    page.get_by_role("button", name="Lọc").click()
    titles = page.locator("ol.occurrences .what a").all_inner_texts()
    assert titles and all("Chiến thắng" in t for t in titles)
    assert "category=victory" in page.url
    page.goto(f"{live.url}/?from=2024-01-01")
    page.get_by_label("Tìm kiếm").fill("dien bien phu")
    page.get_by_label("Tìm kiếm").press("Enter")
    assert page.locator("ol.occurrences .what a").all_inner_texts() == [
        "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ"]
    page.get_by_label("Tìm kiếm").fill("Hoàng Đình Giông")  # the directive's spelling
    page.get_by_label("Tìm kiếm").press("Enter")
    assert page.locator("ol.occurrences .what a").all_inner_texts() == [
        "Kỷ niệm 120 năm Ngày sinh đồng chí Hoàng Đình Giong"]
    page.get_by_label("Tìm kiếm").fill("không có gì như thế này")
    page.get_by_label("Tìm kiếm").press("Enter")
    assert "Không có ngày kỷ niệm nào" in page.inner_text("main")


def test_year_and_event_pages(page, live):
    page.goto(f"{live.url}/year/2024")
    main = page.inner_text("main")
    assert "Các ngày kỷ niệm năm 2024" in main and "Chưa xác định ngày" in main
    assert "Huỳnh Ngọc Huệ" in page.inner_text("section.undecided")
    shot(page, "year-2024")
    page.get_by_role("link", name="Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ").first.click()
    assert page.url.endswith("/events/dien-bien-phu")
    assert page.get_by_role("heading", level=1).inner_text() == "Chiến thắng Điện Biên Phủ"
    assert "Thêm vào lịch (.ics)" in page.inner_text("main")
    shot(page, "event")


def test_double_opt_in_from_the_form_to_the_confirmation_link(page, live, sink, loaded):
    page.goto(f"{live.url}/subscribe")
    page.get_by_label("Địa chỉ e-mail").fill("phong.vhtt@example.org")
    page.get_by_label("Họ tên hoặc tên bộ phận").fill("Phòng Văn hóa")
    page.get_by_label("Chiến thắng").check()
    page.get_by_role("button", name="Đăng ký nhận thư").click()
    assert "Vui lòng kiểm tra hộp thư" in page.inner_text("main")
    with loaded.database.session() as session:
        row = session.query(SubscriberRow).filter_by(email="phong.vhtt@example.org").one()
        assert row.confirmed_at is None and row.categories == ["victory"]
    loaded.shared(ConfirmationMailer).wait()  # sent off the request thread
    (mail,) = sink.received
    body = mail.message.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/subscribe/confirm/\S+", body).group(0)
    page.goto(link)
    page.get_by_role("button", name="Xác nhận").click()
    assert "Đã xác nhận" in page.inner_text("main")
    with loaded.database.session() as session:
        row = session.query(SubscriberRow).filter_by(email="phong.vhtt@example.org").one()
        assert row.confirmed_at is not None and row.active


@pytest.mark.parametrize("path", ["/?from=2024-04-20", "/year/2024", "/events/dien-bien-phu",
                                  "/subscribe"])
def test_no_horizontal_scroll_at_390px(browser, live, path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(live.url + path)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if path == "/?from=2024-04-20":
        shot(page, "upcoming-phone")
    context.close()
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"


def test_keyboard_reaches_the_content_first(page, live):
    page.goto(f"{live.url}/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Bỏ qua, tới nội dung chính"


def test_admin_login_edit_and_the_edit_in_the_feed(page, live, loaded):
    from calendar_service.admin.accounts import create_user

    with loaded.database.session() as session:
        create_user(session, "bientap", "mat-khau-dai-du-10", loaded.clock.now())
    page.goto(f"{live.url}/admin/events/thuong-duc")
    assert "/admin/login" in page.url  # the admin area asks for a login first
    page.get_by_label("Tên đăng nhập").fill("bientap")
    page.get_by_label("Mật khẩu").fill("mat-khau-dai-du-10")
    page.get_by_role("button", name="Đăng nhập").click()
    assert page.url.endswith("/admin/events/thuong-duc")
    page.get_by_label("Tên ngày kỷ niệm").fill("Chiến thắng Thượng Đức (Đại Lộc)")
    page.get_by_role("button", name="Lưu thay đổi").click()
    assert "Chiến thắng Thượng Đức (Đại Lộc)" in page.inner_text("h1")
    from tests.ical_checks import events

    feed = page.request.get(f"{live.url}/calendar.ics?year=2024").body()
    (event,) = [e for uid, e in events(feed).items() if uid.startswith("thuong-duc-")]
    assert str(event["SUMMARY"]) == \
        "Kỷ niệm 50 năm Chiến thắng Thượng Đức (Đại Lộc) (07/8/1974 – 07/8/2024)"
    assert int(event["SEQUENCE"]) == 2
