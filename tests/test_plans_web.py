"""Plans in the admin area, through Flask's client with CSRF on (tokens read from the pages,
as a browser would), on SQLite and PostgreSQL: roles (administrator, member of an agency)
enforced on the server, the year's plan grid, the task list and the task page, tasks added
and removed by hand, the agency's private task feed, `plans generate` without --year,
`users add --agency`, and the scheduler keeping the plans generated."""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import unescape

import pytest
from icalendar import Calendar
from sqlalchemy import func, select

from calendar_service.admin import accounts
from calendar_service.admin.models import AdminUser
from calendar_service.app_context import Services
from calendar_service.catalogue import load_catalogue
from calendar_service.plans.keep import PlanKeeper, keep_job
from calendar_service.plans.models import TaskRow
from calendar_service.reminders.scheduler import tick_job
from calendar_service.store import sync_catalogue
from calendar_service.store.audit import AuditEntry
from tests.conftest import ROOT, Cli
from tests.ical_checks import check_feed
from tests.test_admin import PASSWORD, Browser, admin_urls, make_app, run

EVENTS = ROOT / "events"
FILES = [EVENTS / "2024.toml", EVENTS / "agencies.toml", EVENTS / "plans.toml"]
II_2 = ["so-vhttdl", "so-tttt", "ban-tuyen-giao", "bao-quang-nam", "dai-pt-th", "cong-ttdt"]
# The tests' "today": the Điện Biên Phủ 70th is seventeen days ahead.
TODAY = datetime.fromisoformat("2024-04-20T09:00:00+07:00")
LINK = "https://baoquangnam.vn/chien-thang-dien-bien-phu-70-nam-3129401.html"
REVISION = re.compile(r'name="revision"[^>]*value="(\d+)"')


@pytest.fixture
def planned(services, clock) -> Services:
    """The 2024 directive, its agencies and plan templates, the 2024 tasks, and three
    accounts: an administrator and members of Báo Quảng Nam and of the Sở TTTT."""
    clock.at = TODAY
    now = clock.now()
    cli = Cli(services)
    assert cli("load", *map(str, FILES)).exit_code == 0
    result = cli("plans", "generate", "--year", "2024")
    assert result.exit_code == 0, result.output
    with services.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, now)
        accounts.create_user(session, "bqn", PASSWORD, now, agency_id="bao-quang-nam")
        accounts.create_user(session, "sotttt", PASSWORD, now, agency_id="so-tttt")
    return services


@pytest.fixture
def app(planned):
    return make_app(planned)


def logged_in(app, name: str) -> Browser:
    browser = Browser(app)
    response = browser.login(name)
    assert response.status_code == 302, name
    return browser


@pytest.fixture
def admin(app) -> Browser:
    return logged_in(app, "admin")


@pytest.fixture
def member(app) -> Browser:
    return logged_in(app, "bqn")


def tasks_json(services: Services, *args: str) -> list[dict]:
    result = Cli(services)("tasks", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def one_task(services: Services, agency: str, commemoration: str = "dien-bien-phu",
             kind: str | None = None) -> dict:
    found = [t for t in tasks_json(services, "--agency", agency)
             if t["commemoration"] == commemoration and (kind is None or t["kind"] == kind)]
    assert found, (agency, commemoration, kind)
    return found[0]


def task_form(browser: Browser, ident: int, **values: str) -> dict:
    """The task page's form as the page shows it, with some fields changed."""
    page = browser.text(f"/admin/tasks/{ident}")
    status = re.search(r'<option selected value="([^"]+)"', page)
    note = re.search(r'<textarea[^>]*name="note"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    form = {"revision": REVISION.search(page).group(1),
            "status": status.group(1) if status else "todo",
            "link": "", "note": unescape(note.group(1)).lstrip("\r\n")}
    return {**form, **values}


def save_task(browser: Browser, ident: int, **values: str):
    return browser.post(f"/admin/tasks/{ident}", task_form(browser, ident, **values),
                        page=f"/admin/tasks/{ident}")


def grid_cells(page: str, commemoration: str) -> dict[str, str]:
    """The grid row of that commemoration: its cells' HTML by agency id."""
    row = re.search(rf'<tr data-commemoration="{commemoration}"[^>]*>(.*?)</tr>', page,
                    re.DOTALL)
    assert row, commemoration
    return dict(re.findall(r'<td data-agency="([^"]+)">(.*?)</td>', row.group(1), re.DOTALL))


def stored_task(services: Services, ident: int) -> TaskRow:
    with services.database.session() as session:
        return session.get(TaskRow, ident)


def count_tasks(services: Services, year: int) -> int:
    with services.database.session() as session:
        return session.scalar(select(func.count()).select_from(TaskRow)
                              .where(TaskRow.year == year))


# --- Roles ----------------------------------------------------------------------------

def test_a_member_is_kept_out_of_every_administrator_page(app, member, admin, planned):
    urls = [(m, u) for m, u in admin_urls(app) if u not in ("/admin/", "/admin/logout")]
    assert len(urls) >= 15
    token = member.token("/admin/tasks")
    for method, url in urls:
        response = member.client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 403, (method, url)
        assert "chỉ dành cho quản trị viên" in response.get_data(as_text=True), url
    with planned.database.session() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.username == "bqn")) == 0
    # The admin home sends a member on to its agency's tasks; an administrator stays.
    assert member.get("/admin/").headers["Location"] == "/admin/tasks"
    assert admin.get("/admin/subscribers").status_code == 200
    assert admin.get("/admin/").status_code == 200


def test_every_plans_page_asks_for_a_login(app, planned):
    browser = Browser(app)
    token = browser.token("/admin/login")
    samples = {"year": 2024, "ident": 1}
    with app.test_request_context():
        from flask import url_for

        urls = [(method, url_for(rule.endpoint, **{a: samples[a] for a in rule.arguments}))
                for rule in app.url_map.iter_rules()
                if rule.endpoint.startswith("plans.") and rule.endpoint != "plans.agency_feed"
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    assert len(urls) >= 9
    for method, url in urls:
        response = browser.client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code == 302, (method, url)
        assert response.headers["Location"].startswith("/admin/login"), url
    assert stored_task(planned, 1).revision == 1


def test_the_navigation_shows_links_by_role(admin, member):
    member_page = member.text("/admin/plans/2024")
    assert "Việc của cơ quan" in member_page and "bqn (Báo Quảng Nam)" in member_page
    for link in ("/admin/subscribers", "/admin/deliveries", "/admin/audit", "/admin/export"):
        assert f'href="{link}"' not in member_page
        assert f'href="{link}"' in admin.text("/admin/plans/2024")


# --- The plan grid --------------------------------------------------------------------

@pytest.mark.parametrize("who", ["admin", "bqn"])
def test_the_grid_shows_the_2024_plan_across_the_six_agencies(app, who):
    page = logged_in(app, who).text("/admin/plans/2024")
    assert "Kế hoạch tuyên truyền năm 2024" in page
    columns = re.findall(r'<th scope="col" title="[^"]+" data-agency="([^"]+)"', page)
    assert set(II_2) <= set(columns)
    dbp = grid_cells(page, "dien-bien-phu")
    for agency in II_2:
        assert 'class="task task-' in dbp[agency], agency
    assert "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in page and "07/5/2024" in page
    assert "Theo Chỉ thị năm 2024" in page and "Năm tròn" in page
    # Huỳnh Ngọc Huệ's day is not known: his tasks are due "chưa định", his row is last.
    hue = grid_cells(page, "huynh-ngoc-hue")
    assert "chưa định" in "".join(hue.values())
    rows = re.findall(r'<tr data-commemoration="([^"]+)"', page)
    assert rows[-1] == "huynh-ngoc-hue" and rows.index("tran-phu") < rows.index("dien-bien-phu")
    total = count_tasks(app.extensions["calendar_service"], 2024)
    summary = re.search(r'<p class="summary">(.*?)</p>', page).group(1)
    overdue = len(re.findall(r'<a class="task task-(?:todo|in_progress) task-overdue"', page))
    assert re.sub(r"<[^>]+>", "", summary) == f"{total} việc · 0 đã xong · {overdue} quá hạn"
    assert overdue > 0  # guidance due before 20/4, e.g. Điện Biên Phủ's, 60 days ahead


def test_the_grid_filters(admin):
    one = admin.text("/admin/plans/2024?agency=bao-quang-nam")
    assert re.findall(r'data-agency="([^"]+)"', one.split("<tbody>")[0]) == ["bao-quang-nam"]
    assert "(theo bộ lọc)" in one
    births = admin.text("/admin/plans/2024?category=birth-anniversary")
    assert 'data-commemoration="tran-phu"' in births
    assert 'data-commemoration="dien-bien-phu"' not in births
    late = admin.text("/admin/plans/2024?overdue=1")
    assert "task-overdue" in late and '<a class="task task-todo"' not in late
    assert "Không có việc nào khớp với bộ lọc." in admin.text("/admin/plans/2024?status=done")
    for bad in ("agency=khong-co", "status=finished", "category=war", "overdue=maybe"):
        response = admin.get(f"/admin/plans/2024?{bad}")
        assert response.status_code == 400, bad
        assert "Tham số" in response.get_data(as_text=True)
    assert admin.get("/admin/plans/1899").status_code == 404
    assert admin.get("/admin/plans/99999999999").status_code == 404
    assert admin.get("/admin/plans/").headers["Location"] == "/admin/plans/2024"


def test_the_grid_takes_a_fixed_number_of_queries(app, admin, planned):
    from sqlalchemy import event

    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = planned.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        admin.text("/admin/plans/2024")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    from_tasks = [s for s in statements if "FROM tasks" in s]
    # The counts per commemoration, the page's tasks, the agencies that have tasks.
    assert len(from_tasks) == 3
    assert "GROUP BY tasks.commemoration_id" in from_tasks[0]
    # The session's account, the agencies, the occurrences (commemorations with their
    # designations and observances, and the renames of the agencies' names, read once per
    # data version — whose check the tests make on every ask): a fixed number, whatever the
    # number of tasks.
    assert len(statements) <= 12, statements


def test_an_empty_year_offers_generation_to_an_administrator_only(app, admin, member,
                                                                  planned):
    assert count_tasks(planned, 2025) == 0
    button = "Tạo các việc theo kế hoạch mẫu"
    assert button not in member.text("/admin/plans/2025")
    assert member.post("/admin/plans/2025/generate", page="/admin/plans/2025"
                       ).status_code == 403
    assert count_tasks(planned, 2025) == 0
    page = admin.text("/admin/plans/2025")
    assert button in page and "chưa có việc nào" in page
    response = admin.post("/admin/plans/2025/generate", page="/admin/plans/2025")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/plans/2025"
    added = count_tasks(planned, 2025)
    assert added > 0
    after = admin.text("/admin/plans/2025")
    assert f"Năm 2025: đã tạo {added} việc" in after and button not in after
    admin.post("/admin/plans/2025/generate", page="/admin/plans/2025")  # idempotent
    assert count_tasks(planned, 2025) == added


# --- A member marks a task done -------------------------------------------------------

def test_a_member_marks_a_task_done_with_a_link(member, planned):
    task = one_task(planned, "bao-quang-nam")
    ident = task["id"]
    page = member.text(f"/admin/tasks/{ident}")
    assert task["title"] in page and "Báo Quảng Nam" in page and "Chưa làm" in page
    response = save_task(member, ident, status="done", link=LINK,
                         note="Loạt 5 bài, đăng từ 07/4 đến 07/5.")
    assert response.status_code == 302 and response.headers["Location"] == \
        f"/admin/tasks/{ident}"
    page = member.text(f"/admin/tasks/{ident}")
    assert "Đã lưu." in page and f'href="{LINK}"' in page and "Đã xong" in page
    # The audit trail on the page: who, what, before → after.
    history = page.split("Lịch sử thay đổi")[1]
    assert "bqn" in history and "Cập nhật việc" in history and "Chưa làm → Đã xong" in history
    # In the grid, done; in `tasks --json`, done with its link.
    cells = grid_cells(member.text("/admin/plans/2024"), "dien-bien-phu")
    assert f'class="task task-done" href="/admin/tasks/{ident}"' in cells["bao-quang-nam"]
    (after,) = [t for t in tasks_json(planned, "--status", "done")]
    assert (after["id"], after["links"], after["note"], after["updated_by"]) == (
        ident, [LINK], "Loạt 5 bài, đăng từ 07/4 đến 07/5.", "bqn")
    with planned.database.session() as session:
        (entry,) = session.scalars(select(AuditEntry).where(
            AuditEntry.subject == f"task:{ident}"))
        assert entry.username == "bqn" and entry.changes["links"]["after"] == [LINK]


def test_a_member_cannot_change_another_agencys_task(member, planned):
    other = one_task(planned, "so-tttt")
    page = member.text(f"/admin/tasks/{other['id']}")  # seen: every plan is visible
    assert other["title"] in page and "do cơ quan khác chủ trì" in page
    assert f'action="/admin/tasks/{other["id"]}"' not in page
    token = member.token(f"/admin/tasks/{other['id']}")
    for path, data in ((f"/admin/tasks/{other['id']}", {"revision": "1", "status": "done"}),
                       (f"/admin/tasks/{other['id']}/links/remove", {"link": LINK}),
                       (f"/admin/tasks/{other['id']}/remove", {})):
        response = member.client.post(path, data={"csrf_token": token, **data})
        assert response.status_code == 403, path
        assert "chỉ thay đổi được việc của cơ quan" in response.get_data(as_text=True) \
            or "chỉ dành cho quản trị viên" in response.get_data(as_text=True)
    row = stored_task(planned, other["id"])
    assert (row.status, row.revision) == ("todo", 1)


def test_an_administrator_changes_any_agencys_task(admin, planned):
    task = one_task(planned, "so-tttt")
    assert save_task(admin, task["id"], status="in_progress").status_code == 302
    assert stored_task(planned, task["id"]).status == "in_progress"


@pytest.mark.parametrize("values, message", [
    ({"link": "javascript:alert(1)"}, "Liên kết phải là địa chỉ http:// hoặc https://"),
    ({"link": "https://baoquangnam.vn/a b"}, "không được chứa khoảng trắng"),
    ({"note": "x" * 5001}, "Ghi chú tối đa 5000 ký tự."),
    ({"status": "finished"}, "Trạng thái 'finished' không hợp lệ"),
])
def test_a_bad_value_is_a_vietnamese_error_and_writes_nothing(member, planned, values,
                                                              message):
    ident = one_task(planned, "bao-quang-nam")["id"]
    response = save_task(member, ident, **{"status": "done", **values})
    assert response.status_code == 400
    assert message in unescape(response.get_data(as_text=True))
    row = stored_task(planned, ident)
    assert (row.status, row.links, row.revision) == ("todo", [], 1)


def test_a_change_over_a_newer_revision_is_refused(member, admin, planned):
    ident = one_task(planned, "bao-quang-nam")["id"]
    stale = task_form(member, ident, note="Bản cũ")
    save_task(admin, ident, note="Quản trị viên ghi trước")
    member.post(f"/admin/tasks/{ident}", stale, page=f"/admin/tasks/{ident}")
    assert "vừa được thay đổi" in member.text(f"/admin/tasks/{ident}")
    assert stored_task(planned, ident).note == "Quản trị viên ghi trước"


def test_a_link_is_removed_from_the_task_page(member, planned):
    ident = one_task(planned, "bao-quang-nam")["id"]
    save_task(member, ident, link=LINK)
    save_task(member, ident, link="https://baoquangnam.vn/bai-2.html")
    page = member.text(f"/admin/tasks/{ident}")
    assert f'aria-label="Gỡ liên kết {LINK}"' in page
    member.post(f"/admin/tasks/{ident}/links/remove", {"link": LINK},
                page=f"/admin/tasks/{ident}")
    assert stored_task(planned, ident).links == ["https://baoquangnam.vn/bai-2.html"]
    member.post(f"/admin/tasks/{ident}/links/remove", {"link": LINK},
                page=f"/admin/tasks/{ident}")
    assert "Không có liên kết này" in member.text(f"/admin/tasks/{ident}")


def test_the_task_page_of_an_unknown_task_is_a_404(member):
    assert member.get("/admin/tasks/999999").status_code == 404
    assert member.get("/admin/tasks/99999999999").status_code == 404
    assert "Không có việc này." in member.get("/admin/tasks/999999").get_data(as_text=True)


# --- The task list --------------------------------------------------------------------

def test_a_members_list_is_its_agencys_tasks_overdue_first(member, planned):
    page = member.text("/admin/tasks?status=all")
    assert "Việc của Báo Quảng Nam" in page
    ids = [int(i) for i in re.findall(r'<td><a href="/admin/tasks/(\d+)">', page)]
    mine = {t["id"]: t for t in tasks_json(planned, "--agency", "bao-quang-nam")}
    assert set(ids) == set(mine)
    overdue = [i for i in ids if mine[i]["overdue"]]
    assert overdue and ids[:len(overdue)] == overdue
    rest = [mine[i]["due"] for i in ids[len(overdue):]]
    assert [d for d in rest if d] == sorted(d for d in rest if d) and rest[-1] is None
    # Another agency's filter is ignored for a member; its own feed address is offered.
    assert set(re.findall(r'<td><a href="/admin/tasks/(\d+)">',
                          member.text("/admin/tasks?status=all&agency=so-tttt"))) == {
        str(i) for i in ids}
    assert "/agencies/bao-quang-nam/" in page and "/tasks.ics" in page


def test_the_list_filters_and_pages(admin, member, planned):
    ident = one_task(planned, "bao-quang-nam")["id"]
    save_task(member, ident, status="done", link=LINK)
    assert f'href="/admin/tasks/{ident}"' not in member.text("/admin/tasks")  # open only
    assert f'href="/admin/tasks/{ident}"' in member.text("/admin/tasks?status=done")
    every = admin.text("/admin/tasks?status=all")
    total = count_tasks(planned, 2024)
    assert f"Trang 1/{-(-total // 50)} · {total} mục" in every
    assert len(re.findall(r'<td><a href="/admin/tasks/\d+">', every)) == 50
    second = admin.text("/admin/tasks?status=all&page=2")
    assert len(re.findall(r'<td><a href="/admin/tasks/\d+">', second)) == total - 50
    only = admin.text("/admin/tasks?status=all&agency=so-tttt&year=2024")
    shown = {int(i) for i in re.findall(r'<td><a href="/admin/tasks/(\d+)">', only)}
    assert shown == {t["id"] for t in tasks_json(planned, "--agency", "so-tttt")}
    assert "Không có việc nào" in admin.text("/admin/tasks?year=2030")
    for bad in ("year=20x4", "status=late", "agency=khong-co", "page=0"):
        assert admin.get(f"/admin/tasks?{bad}").status_code == 400, bad


# --- Tasks added and removed by hand --------------------------------------------------

def test_an_administrator_adds_and_removes_a_task_by_hand(admin, member, planned):
    form_page = admin.text("/admin/plans/2024/tasks/new?commemoration=dien-bien-phu")
    assert '<option selected value="dien-bien-phu">' in form_page
    assert member.get("/admin/plans/2024/tasks/new").status_code == 403
    response = admin.post("/admin/plans/2024/tasks/new", {
        "commemoration": "dien-bien-phu", "kind": "hoi-thao", "agency": "so-tttt",
        "title": "Tọa đàm báo chí về Điện Biên Phủ", "due": "2024-05-03"},
        page="/admin/plans/2024/tasks/new")
    assert response.status_code == 302
    ident = int(response.headers["Location"].rsplit("/", 1)[1])
    task = next(t for t in tasks_json(planned) if t["id"] == ident)
    assert (task["manual"], task["due"], task["agency"], task["kind"]) == (
        True, "2024-05-03", "so-tttt", "hoi-thao")
    cells = grid_cells(admin.text("/admin/plans/2024"), "dien-bien-phu")
    assert f'href="/admin/tasks/{ident}"' in cells["so-tttt"]
    assert "Xóa việc này" in admin.text(f"/admin/tasks/{ident}")
    assert admin.post(f"/admin/tasks/{ident}/remove", page=f"/admin/tasks/{ident}"
                      ).headers["Location"] == "/admin/plans/2024"
    assert stored_task(planned, ident) is None
    generated = one_task(planned, "so-tttt")["id"]
    assert "Xóa việc này" not in admin.text(f"/admin/tasks/{generated}")
    admin.post(f"/admin/tasks/{generated}/remove", page=f"/admin/tasks/{generated}")
    assert "không xóa được" in admin.text(f"/admin/tasks/{generated}")
    assert stored_task(planned, generated) is not None


@pytest.mark.parametrize("values, message", [
    ({"commemoration": "khong-co"}, "Không có ngày kỷ niệm “khong-co”"),
    ({"agency": "khong-co"}, "Không có cơ quan “khong-co”"),
    ({"title": ""}, "Tên việc: bắt buộc"),
    ({"due": "03/05/2024"}, "Hạn không hợp lệ (dạng YYYY-MM-DD)."),
])
def test_a_bad_manual_task_is_refused_in_vietnamese(admin, planned, values, message):
    before = count_tasks(planned, 2024)
    response = admin.post("/admin/plans/2024/tasks/new", {
        "commemoration": "dien-bien-phu", "kind": "hoi-thao", "agency": "so-tttt",
        "title": "Tọa đàm", "due": "", **values}, page="/admin/plans/2024/tasks/new")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert count_tasks(planned, 2024) == before


# --- The agency's private task feed ---------------------------------------------------

def feed_path(services: Services, agency: str, *options: str) -> str:
    result = Cli(services)("agencies", "feed-url", agency, *options)
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith(services.settings.base_url)
    return url[len(services.settings.base_url):]


def test_the_agency_feed(app, planned):
    client = app.test_client()
    path = feed_path(planned, "bao-quang-nam")
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, no-store"
    cal = check_feed(response.data)
    assert str(cal["X-WR-CALNAME"]) == "Hạn việc — Báo Quảng Nam"
    mine = tasks_json(planned, "--agency", "bao-quang-nam")
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    host = "127.0.0.1"
    assert set(events) == {f"task-{t['id']}@{host}" for t in mine if t["due"]}
    dbp = one_task(planned, "bao-quang-nam")
    event = events[f"task-{dbp['id']}@{host}"]
    assert str(event["SUMMARY"]) == f"Hạn: {dbp['title']}"
    assert event["DTSTART"].dt.isoformat() == dbp["due"]
    assert (event["DTEND"].dt - event["DTSTART"].dt).days == 1
    assert int(event["SEQUENCE"]) == 1 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["TRANSP"]) == "TRANSPARENT"
    description = str(event["DESCRIPTION"])
    assert "Cơ quan chủ trì: Báo Quảng Nam" in description
    assert "Trạng thái: Chưa làm" in description
    assert f"/admin/tasks/{dbp['id']}" in description
    # No invented day: Huỳnh Ngọc Huệ's task is in the calendar's description, not an event.
    assert "Chưa định hạn" in str(cal["DESCRIPTION"]) and "Huỳnh Ngọc Huệ" in str(
        cal["DESCRIPTION"])
    # Byte-stable, with validators.
    again = client.get(path)
    assert again.data == response.data and again.headers["ETag"] == response.headers["ETag"]
    assert "Last-Modified" in response.headers
    cached = client.get(path, headers={"If-None-Match": response.headers["ETag"]})
    assert cached.status_code == 304 and cached.data == b""


def test_the_agency_feed_follows_changes(app, member, planned, clock):
    client = app.test_client()
    path = feed_path(planned, "bao-quang-nam")
    before = client.get(path)
    ident = one_task(planned, "bao-quang-nam")["id"]
    clock.at = TODAY.replace(hour=10)
    save_task(member, ident, status="done", link=LINK)
    after = client.get(path, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    event = {str(e["UID"]): e for e in check_feed(after.data).walk("VEVENT")}[
        f"task-{ident}@127.0.0.1"]
    assert int(event["SEQUENCE"]) == 2
    assert event["LAST-MODIFIED"].dt == clock.at
    assert "Trạng thái: Đã xong" in str(event["DESCRIPTION"]) and LINK in str(
        event["DESCRIPTION"])
    save_task(member, ident, status="cancelled")
    event = {str(e["UID"]): e for e in Calendar.from_ical(client.get(path).data).walk(
        "VEVENT")}[f"task-{ident}@127.0.0.1"]
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 3


def test_a_wrong_token_or_agency_is_the_same_404_and_rotation_retires_the_address(
        app, planned):
    client = app.test_client()
    path = feed_path(planned, "so-tttt")
    assert client.get(path).status_code == 200
    wrong = client.get(path.rsplit("/", 2)[0] + "/not-the-token/tasks.ics")
    unknown = client.get(path.replace("/so-tttt/", "/khong-co/"))
    other = client.get(path.replace("/so-tttt/", "/bao-quang-nam/"))  # another's token
    for response in (wrong, unknown, other):
        assert response.status_code == 404
        assert response.data == wrong.data
    assert client.get(path[:-len("tasks.ics")] + "tasks.ics?x=1").status_code == 200
    rotated = feed_path(planned, "so-tttt", "--rotate")
    assert rotated != path
    assert client.get(path).status_code == 404
    assert client.get(rotated).status_code == 200


# --- Commands -------------------------------------------------------------------------

def test_plans_generate_without_a_year(cli, clock):
    clock.at = datetime.fromisoformat("2026-03-01T09:00:00+07:00")
    assert cli("load", *map(str, FILES)).exit_code == 0
    result = cli("plans", "generate")
    assert result.exit_code == 0, result.output
    summaries = [line for line in result.stdout.splitlines() if line[:5] in ("2024:",
                                                                             "2026:")]
    assert [line[:5] for line in summaries] == ["2024:", "2026:"]
    assert count_tasks(cli.services, 2024) == 91 and count_tasks(cli.services, 2026) > 0
    assert count_tasks(cli.services, 2025) == 0
    again = cli("plans", "generate")
    assert "2024: 0 added, 0 changed, 0 cancelled, 91 unchanged" in again.stdout
    dry = cli("plans", "generate", "--dry-run")
    assert "dry run: 2026: 0 added" in dry.stdout


def test_users_add_with_an_agency(cli, planned):
    result = run(cli, "users", "add", "daipt", "--agency", "dai-pt-th", input=f"{PASSWORD}\n")
    assert result.exit_code == 0 and result.stdout == \
        "added user daipt, member of dai-pt-th\n"
    with planned.database.session() as session:
        assert accounts.find_user(session, "daipt").agency_id == "dai-pt-th"
    listed = run(cli, "users", "list").stdout.splitlines()
    assert any(line.startswith("daipt\t") and line.endswith("\tmember of dai-pt-th")
               for line in listed)
    assert any(line.startswith("admin\t") and line.endswith("\tadministrator")
               for line in listed)
    unknown = run(cli, "users", "add", "x", "--agency", "so-ttt", input=f"{PASSWORD}\n")
    assert unknown.exit_code == 1 and "no agency 'so-ttt'" in unknown.stderr
    with planned.database.session() as session:
        accounts.find_user(session, "admin")  # still there
        assert accounts.find_user(session, "x") is None


def test_an_inactive_agency_takes_no_new_members(planned):
    from calendar_service.store.models import AgencyRow

    with planned.database.session() as session:
        session.get(AgencyRow, "so-noi-vu").active = False
    with planned.database.session() as session, pytest.raises(accounts.AccountError) as info:
        accounts.create_user(session, "noivu", PASSWORD, TODAY, agency_id="so-noi-vu")
    assert "no longer in the catalogue files" in str(info.value)
    with planned.database.session() as session:
        assert session.scalar(select(func.count()).select_from(AdminUser)) == 3


# --- The scheduler keeps the plans generated ------------------------------------------

def test_the_scheduler_keeps_this_and_next_years_plans(services, clock, tmp_path):
    clock.at = datetime.fromisoformat("2026-12-31T23:00:00+07:00")
    with services.database.session() as session:
        sync_catalogue(session, load_catalogue(FILES), clock.now())
    keeper = services.shared(PlanKeeper)
    reports = keeper.run()
    assert [year for year, _ in reports] == [2026, 2027]
    assert count_tasks(services, 2026) > 0 and count_tasks(services, 2027) > 0
    assert keeper.run() == []  # nothing changed: skipped, one tiny query
    # A changed template is seen at the next run (it runs again instead of skipping).
    plans = tmp_path / "plans.toml"
    plans.write_text(FILES[2].read_text(encoding="utf-8").replace("due = -60", "due = -75"),
                     encoding="utf-8")
    with services.database.session() as session:
        sync_catalogue(session, load_catalogue([FILES[0], FILES[1], plans]), clock.now())
    assert [year for year, _ in keeper.run()] == [2026, 2027]
    assert keeper.run() == []
    # A new year: the next one is generated.
    clock.at = datetime.fromisoformat("2027-01-01T00:30:00+07:00")
    assert [year for year, _ in keeper.run()] == [2027, 2028]
    assert count_tasks(services, 2028) > 0
    keep_job(services)  # runs, never raises


def test_the_reminder_tick_generates_the_plans(services, clock):
    clock.at = datetime.fromisoformat("2026-03-01T09:00:00+07:00")
    with services.database.session() as session:
        sync_catalogue(session, load_catalogue(FILES), clock.now())
    tick_job(services)
    assert count_tasks(services, 2026) > 0 and count_tasks(services, 2027) > 0


def test_the_scheduler_job_survives_a_broken_database(services, caplog):
    from sqlalchemy import text

    with services.database.session() as session:
        # The ledger's foreign key goes with it (PostgreSQL would refuse otherwise).
        cascade = " CASCADE" if session.connection().dialect.name == "postgresql" else ""
        session.execute(text(f"DROP TABLE tasks{cascade}"))
    keep_job(services)
    assert "keeping the plans generated failed" in caplog.text


def test_the_grid_pages_its_occurrences_and_counts_them_all(app, admin, planned, monkeypatch):
    from calendar_service.plans import grid as plan_grid

    monkeypatch.setattr(plan_grid, "ROWS_PER_PAGE", 5)
    first = admin.text("/admin/plans/2024")
    last = admin.text("/admin/plans/2024?page=3")
    rows = 'data-commemoration="'
    assert first.count(rows) == 5 and last.count(rows) == 2  # 12 occurrences
    for page in (first, last):  # the counts are the year's, on every page
        assert "<strong>91</strong> việc" in page and "Trang" in page
    assert 'rel="next"' in first and 'rel="prev"' in last
    assert "Nguyễn Chí Thanh" in first  # 01/01, the first of the year
