"""A lunar entry in a real headless Chromium (test_browser.py's fixtures): the home, year and
event pages show the lunar date beside the solar one, "(10/3 âm lịch)", and it is visible."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from calendar_service.catalogue import load_catalogue
from calendar_service.store import sync_catalogue
from calendar_service.vietnamese import long_date, official_date
from tests import test_browser
from tests.conftest import ROOT

# test_browser.py's fixtures, used by name; the same skip when Chromium is missing.
browser, db_url, live, page, sink = (test_browser.browser, test_browser.db_url,
                                     test_browser.live, test_browser.page, test_browser.sink)
pytestmark = test_browser.pytestmark
shot = test_browser.shot

FILES = [ROOT / "events" / "2024.toml", ROOT / "tests" / "fixtures" / "lunar.toml"]


@pytest.fixture
def lunar_store(loaded):
    with loaded.database.session() as session:
        sync_catalogue(session, load_catalogue(FILES), loaded.clock.now())
    loaded.clock.at = datetime(2026, 4, 1, 9, tzinfo=loaded.clock.tz)  # "today": 01/4/2026
    return loaded


def visible(where, text: str) -> None:
    found = where.get_by_text(text, exact=False).first
    assert found.is_visible(), f"{text!r} is not visible"
    box = found.bounding_box()
    assert box and box["width"] > 0 and box["height"] > 0


def test_home_shows_the_lunar_date(lunar_store, page, live):
    page.goto(f"{live.url}/?from=2026-04-01")
    item = page.locator("ol.occurrences li", has_text="Giỗ Tổ Hùng Vương")
    assert f"{long_date(date(2026, 4, 26))} (10/3 âm lịch)" in " ".join(
        item.inner_text().split())
    visible(item, "(10/3 âm lịch)")
    shot(page, "lunar-home")


def test_year_page_shows_the_lunar_dates(lunar_store, page, live):
    page.goto(f"{live.url}/year/2026")
    main = " ".join(page.inner_text("main").split())
    assert f"{official_date(date(2026, 2, 17))} (1/1 âm lịch): Tết Nguyên đán" in main
    assert f"{official_date(date(2026, 4, 26))} (10/3 âm lịch): Giỗ Tổ Hùng Vương" in main
    visible(page, "(10/3 âm lịch)")
    visible(page, "(1/1 âm lịch)")
    shot(page, "lunar-year-2026")


def test_event_page_shows_the_lunar_origin_and_dates(lunar_store, page, live):
    page.goto(f"{live.url}/events/gio-to-hung-vuong")
    assert page.get_by_role("heading", level=1).inner_text() == "Giỗ Tổ Hùng Vương"
    main = " ".join(page.inner_text("main").split())
    assert "10/3 âm lịch hằng năm" in main
    assert f"{long_date(date(2026, 4, 26))} (10/3 âm lịch)" in main
    visible(page.locator("dl.facts"), "(10/3 âm lịch)")
    visible(page.locator("table.anniversaries"),
            f"{official_date(date(2027, 4, 16))} (10/3 âm lịch)")
    shot(page, "lunar-event")
