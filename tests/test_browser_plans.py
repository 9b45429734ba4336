"""The plans pages in a real headless Chromium (test_browser.py's fixtures): a member of an
agency signs in, reads the year's plan, opens one of its tasks, marks it done with a link and
sees it done; the task page on a phone does not scroll sideways."""

from __future__ import annotations

from datetime import datetime

import pytest

from calendar_service.admin.accounts import create_user
from tests.conftest import ROOT, Cli
from tests.test_browser import (  # noqa: F401 - fixtures used by name
    browser,
    db_url,
    live,
    page,
    pytestmark,
    shot,
    sink,
)

EVENTS = ROOT / "events"
FILES = [EVENTS / "2024.toml", EVENTS / "agencies.toml", EVENTS / "plans.toml"]
PASSWORD = "mat-khau-dai-du-10"
LINK = "https://baoquangnam.vn/chien-thang-dien-bien-phu-70-nam-3129401.html"
DBP_BQN = 'tr[data-commemoration="dien-bien-phu"] td[data-agency="bao-quang-nam"] a.task'


@pytest.fixture
def planned(loaded, live):
    loaded.clock.at = datetime(2024, 4, 20, 9, tzinfo=loaded.clock.tz)
    cli = Cli(loaded)
    assert cli("load", *map(str, FILES)).exit_code == 0
    assert cli("plans", "generate", "--year", "2024").exit_code == 0
    with loaded.database.session() as session:
        create_user(session, "bqn", PASSWORD, loaded.clock.now(), agency_id="bao-quang-nam")
    return loaded


def log_in(page, live, target: str) -> None:
    page.goto(f"{live.url}{target}")
    assert "/admin/login" in page.url
    page.get_by_label("Tên đăng nhập").fill("bqn")
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    # Back where it was going, loaded with its stylesheet before anything is measured.
    page.wait_for_url(f"{live.url}{target}", wait_until="load")


def test_a_member_marks_a_task_done_in_the_plan(page, live, planned):
    log_in(page, live, "/admin/plans/2024")
    main = page.inner_text("main")
    assert "Kế hoạch tuyên truyền năm 2024" in main
    for short in ("Sở VHTTDL", "Sở TTTT", "BTGTU", "Báo Quảng Nam", "Đài PT-TH", "Cổng TTĐT"):
        assert short in page.inner_text("table.plan thead")
    assert "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in main
    shot(page, "plans-2024")
    task = page.locator(DBP_BQN).first
    assert "task-done" not in task.get_attribute("class")
    task.click()
    assert "/admin/tasks/" in page.url
    assert "Báo Quảng Nam" in page.inner_text("dl.facts")
    shot(page, "task")
    page.get_by_label("Trạng thái").select_option("done")
    page.get_by_label("Thêm liên kết kết quả").fill(LINK)
    page.get_by_label("Ghi chú").fill("Loạt 5 bài, đăng từ 07/4 đến 07/5.")
    page.get_by_role("button", name="Lưu").click()
    assert "Đã lưu." in page.inner_text("main")
    assert page.get_by_role("link", name=LINK).get_attribute("href") == LINK
    assert "Đã xong" in page.inner_text("dl.facts")
    assert "Chưa làm → Đã xong" in page.inner_text("table.admin")
    page.get_by_role("link", name="← Kế hoạch năm 2024").click()
    assert "task-done" in page.locator(DBP_BQN).first.get_attribute("class")
    shot(page, "plans-2024-done")


def own_task(services) -> int:
    """Báo Quảng Nam's Điện Biên Phủ task, with a long link and a note to wrap."""
    from calendar_service.plans import tasks

    with services.database.session() as session:
        (task,) = [t for t in tasks.find(session, tasks.TaskFilter(
            agency="bao-quang-nam", commemoration="dien-bien-phu"), services.clock.now().date())]
        tasks.update(session, task, who="bqn", now=services.clock.now(), add_links=[
            LINK + "?utm_source=zalo&utm_medium=social&utm_campaign=ky-niem-70-nam"],
            note="Loạt 5 bài, đăng từ 07/4 đến 07/5.", set_note=True)
        return task.id


@pytest.mark.parametrize("path", ["task", "/admin/tasks", "/admin/plans/2024"])
def test_no_horizontal_scroll_at_390px(browser, live, planned, path):
    if path == "task":
        path = f"/admin/tasks/{own_task(planned)}"
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    log_in(page, live, path)
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if path.startswith("/admin/tasks/"):
        assert page.get_by_role("button", name="Lưu").is_visible()
        shot(page, "task-phone")
    context.close()
    assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 390px"
