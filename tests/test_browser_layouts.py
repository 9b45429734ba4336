"""Issue 12's small things in a real headless Chromium (test_browser.py's fixtures): the home
page's filters folded on a phone, the admin tables as cards at 390 px, the year page's chosen
day and printed legend and source line, the event page's years on demand."""

from __future__ import annotations

from datetime import datetime

import pytest

from calendar_service.admin.accounts import create_user
from tests import test_browser

# test_browser.py's fixtures, used by name (assigned, not imported: pyflakes would take each
# test's parameter for a redefinition of the import).
browser, db_url, live, page, sink = (test_browser.browser, test_browser.db_url,
                                     test_browser.live, test_browser.page, test_browser.sink)
pytestmark, shot = test_browser.pytestmark, test_browser.shot

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "vi-VN"}
PASSWORD = "mat-khau-dai-du-10"


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context.new_page()
    context.close()


def test_on_a_phone_the_first_screen_shows_commemorations_not_the_filter_form(phone, live,
                                                                               loaded):
    loaded.clock.at = datetime(2024, 4, 20, 9, tzinfo=loaded.clock.tz)
    phone.goto(f"{live.url}/?from=2024-04-20")
    assert not phone.locator("form.filters").is_visible()
    first = phone.locator("ol.occurrences > li").first.bounding_box()
    assert first is not None and first["y"] + first["height"] <= 844, first
    shot(phone, "upcoming-phone-folded")
    phone.get_by_text("Bộ lọc", exact=True).click()  # no script: a checkbox and its label
    assert phone.locator("form.filters").is_visible()
    phone.get_by_label("Tìm kiếm", exact=True).fill("dien bien phu")
    phone.get_by_role("button", name="Lọc").click()
    # A filtered page opens with its filters shown, and says so.
    assert phone.locator("form.filters").is_visible()
    assert "(đang lọc)" in phone.locator("label.filters-toggle").inner_text()
    assert phone.locator("ol.occurrences .what a").all_inner_texts() == [
        "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ"]


def test_on_a_wide_screen_the_filters_are_always_shown(page, live):
    page.goto(f"{live.url}/?from=2024-04-20")
    assert page.locator("form.filters").is_visible()
    assert not page.locator("label.filters-toggle").is_visible()


@pytest.mark.parametrize("path", ["/admin/", "/admin/subscribers", "/admin/deliveries"])
def test_admin_tables_are_cards_at_390px(phone, live, loaded, path):
    with loaded.database.session() as session:
        create_user(session, "bientap", PASSWORD, loaded.clock.now())
    if path != "/admin/":
        from calendar_service.reminders import subscribers as subs

        with loaded.database.session() as session:
            subs.add(session, subs.NewSubscriber.parse("phong.vhtt@example.org",
                                                       name="Phòng Văn hóa"),
                     loaded.clock.now())
    phone.goto(f"{live.url}{path}")
    phone.get_by_label("Tên đăng nhập").fill("bientap")
    phone.get_by_label("Mật khẩu").fill(PASSWORD)
    phone.get_by_role("button", name="Đăng nhập").click()
    phone.wait_for_url(f"{live.url}{path}", wait_until="load")
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"
    if path == "/admin/deliveries":
        return  # no delivery yet: the page says so, no table
    row = phone.locator("table.admin.cards tbody tr").first
    box = row.bounding_box()
    assert box is not None and box["width"] <= 390
    label = row.locator("td").first.evaluate(
        "td => getComputedStyle(td, '::before').content")
    assert label in ('"Mã"', '"E-mail"')
    shot(phone, "admin" + path.replace("/", "-").rstrip("-") + "-phone")


def test_the_year_page_marks_a_chosen_day_and_prints_its_legend_and_source(page, live):
    page.goto(f"{live.url}/year/2024")
    thu = page.locator(".month-card li", has_text="Nguyễn Thị Thứ")
    assert "ngày tổ chức được chọn" in thu.inner_text()
    assert page.locator("table.cal td.observed").count() == 1
    page.emulate_media(media="print")
    assert page.locator(".year-legend").is_visible()
    assert "★ ngày chỉ thị nêu tên" in page.locator(".year-legend").inner_text()
    footer = page.locator("footer.site")
    assert footer.is_visible() and "Dữ liệu theo chỉ thị" in footer.inner_text()
    assert not footer.get_by_role("link").first.is_visible()  # links mean nothing on paper
    assert not page.locator(".year-filters").is_visible()
    shot(page, "year-2024-print")


def test_the_year_page_shows_only_the_round_anniversaries_when_asked(page, live):
    page.goto(f"{live.url}/year/2024")
    page.get_by_role("link", name="Chỉ năm tròn, năm chẵn").click()
    assert "only=round" in page.url
    titles = page.locator(".month-card li a").all_inner_texts()
    assert titles and all(int(t.split()[2]) % 5 == 0 for t in titles)
    next_year = page.get_by_role("link", name="Năm 2025 →").get_attribute("href")
    assert "only=round" in next_year


def test_the_event_page_shows_the_nearest_and_round_years_and_the_rest_on_demand(page, live):
    page.goto(f"{live.url}/events/dien-bien-phu")  # the clock says 27/11/2026
    shown = page.locator("table.anniversaries").first.locator("tbody tr td:first-child")
    years = [int(y) for y in shown.all_inner_texts()]
    assert set(range(2024, 2032)) <= set(years)
    assert {1959, 1964, 2004, 2029} <= set(years) and 1960 not in years
    everything = page.locator("details.all-anniversaries")
    assert everything.get_attribute("open") is None
    assert not everything.locator("table").is_visible()
    everything.locator("summary").click()
    rows = everything.locator("tbody tr")
    assert rows.count() == 2036 - 1955 + 1 and rows.first.is_visible()
    shot(page, "event-years")
