"""The year's follow-up report (section II.3): its figures, its four formats, the `report`
command and the `/admin/reports/<year>` page, on SQLite and PostgreSQL.

The scenario: 2024's tasks generated from the shipped catalogue, agencies and templates;
then, for Điện Biên Phủ 70, three tasks done with links, two in progress and one cancelled,
and one of Trần Phú's done with a link; the report is taken on 01/5/2024 at 08:00."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import re
import subprocess
import sys
import zipfile
from datetime import date, datetime

import pytest
from openpyxl import load_workbook

from calendar_service.admin import accounts
from calendar_service.plans import tasks as task_ops
from calendar_service.plans.models import TaskRow
from calendar_service.plans.report import Report, build_report, to_json, to_xlsx
from tests.conftest import ROOT
from tests.test_admin import PASSWORD, Browser, make_app

FILES = [ROOT / "events" / name for name in ("2024.toml", "agencies.toml", "plans.toml")]
AS_OF = "2024-05-01T08:00:00+07:00"
DBP = "dien-bien-phu"
LINKS = {
    ("bai-viet", "bao-quang-nam"): ["https://baoquangnam.vn/dien-bien-phu-70-nam-ky-1.html",
                                    "https://baoquangnam.vn/dien-bien-phu-70-nam-ky-2.html"],
    ("pt-th", "dai-pt-th"): ["https://qrt.vn/phong-su-dien-bien-phu-70-nam"],
    ("tin-bai-cong", "cong-ttdt"): ["https://quangnam.gov.vn/tin/dien-bien-phu-70-nam"],
}
TRAN_PHU_LINK = "https://baoquangnam.vn/dong-chi-tran-phu-120-nam.html"


@pytest.fixture
def planned(cli):
    """2024's tasks generated, then worked on as the module's docstring says."""
    result = cli("load", *map(str, FILES))
    assert result.exit_code == 0, result.output
    assert cli("plans", "generate", "--year", "2024").exit_code == 0
    now = cli.services.clock.now()
    with cli.services.database.session() as session:
        rows = session.query(TaskRow).filter(TaskRow.year == 2024).all()
        dbp = {(t.kind, t.agency_id): t for t in rows if t.commemoration_id == DBP}
        for key, links in LINKS.items():
            task_ops.update(session, dbp[key], who="test", now=now, status="done",
                            add_links=links)
        task_ops.update(session, dbp["le-ky-niem", "so-vhttdl"], who="test", now=now,
                        status="in_progress")
        task_ops.update(session, dbp["huong-dan", "ban-tuyen-giao"], who="test", now=now,
                        status="in_progress")
        task_ops.update(session, dbp["co-dong", "so-vhttdl"], who="test", now=now,
                        status="cancelled")
        tran_phu = next(t for t in rows
                        if (t.commemoration_id, t.kind) == ("tran-phu", "bai-viet"))
        task_ops.update(session, tran_phu, who="test", now=now, status="done",
                        add_links=[TRAN_PHU_LINK])
    return cli


def report_at(services, moment: str = AS_OF, year: int = 2024) -> Report:
    with services.database.session() as session:
        return build_report(session, year, datetime.fromisoformat(moment),
                            services.settings.tz)


def tasks_json(cli, *args) -> list[dict]:
    result = cli("tasks", "--year", "2024", "--as-of", AS_OF, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expected_counts(rows: list[dict]) -> dict:
    """The figures, counted from `tasks --json` (another path through the store)."""
    by = {s: sum(r["status"] == s for r in rows)
          for s in ("todo", "in_progress", "done", "cancelled")}
    counted = len(rows) - by["cancelled"]
    return {"tasks": len(rows), **by, "overdue": sum(r["overdue"] for r in rows),
            "rate": round(by["done"] / counted, 4) if counted else None}


# --- The figures -----------------------------------------------------------------------------

def test_counts_and_rates_per_commemoration_and_agency(planned):
    report = report_at(planned.services)
    assert report.today == date(2024, 5, 1) and report.year == 2024
    rows = tasks_json(planned)
    data = json.loads(to_json(report))
    for line in data["commemorations"]:
        mine = [r for r in rows if r["commemoration"] == line["id"]]
        assert {k: line[k] for k in expected_counts(mine)} == expected_counts(mine), line["id"]
    for line in data["agencies"]:
        mine = [r for r in rows if r["agency"] == line["id"]]
        assert {k: line[k] for k in expected_counts(mine)} == expected_counts(mine), line["id"]
    assert {r["agency"] for r in rows} == {a["id"] for a in data["agencies"]}
    assert data["total"] == expected_counts(rows)

    # The scenario, by hand: Điện Biên Phủ's ten tasks on 01/5/2024.
    dbp = next(o for o in report.occurrences if o.id == DBP)
    assert (dbp.title, dbp.date) == ("Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ",
                                     date(2024, 5, 7))
    c = dbp.counts
    assert (c.tasks, c.todo, c.in_progress, c.done, c.cancelled) == (10, 4, 2, 3, 1)
    # Overdue: the guidance in progress (due 08/3), the press letter (07/4) and the
    # exhibition (30/4); the cancelled banners (26/4) no longer count.
    assert c.overdue == 3
    assert c.rate == pytest.approx(3 / 9)  # the cancelled task is out of the rate
    tran_phu = next(o for o in report.occurrences if o.id == "tran-phu")
    assert (tran_phu.counts.done, tran_phu.counts.overdue, tran_phu.counts.rate) == (1, 2, 0.2)
    t = report.total
    assert (t.tasks, t.done, t.cancelled, t.in_progress) == (91, 4, 1, 2)
    assert t.rate == pytest.approx(4 / 90)


def test_rows_follow_the_calendar_and_undated_occurrences_come_last(planned):
    report = report_at(planned.services)
    dated = [o.date for o in report.occurrences if o.date is not None]
    assert dated == sorted(dated)
    last = report.occurrences[-1]
    assert (last.id, last.date) == ("huynh-ngoc-hue", None)
    assert last.counts.overdue == 0  # a task whose day is to be decided is never overdue
    # Agencies: the two leading departments first, then those that carry out, then II.3.
    assert [a.id for a in report.agencies][:2] == ["so-tttt", "so-vhttdl"]
    assert report.agencies[-1].id == "so-noi-vu"


def test_overdue_is_judged_on_the_day_of_as_of_in_the_services_timezone(planned):
    before_all = report_at(planned.services, "2023-06-01T08:00:00+07:00")
    assert before_all.total.overdue == 0
    # 20:00 UTC on 30/4 is already 01/5 in Hà Nội: tasks due on 30/4 are overdue.
    utc_evening = report_at(planned.services, "2024-04-30T20:00:00+00:00")
    assert utc_evening.today == date(2024, 5, 1)
    assert utc_evening.total.overdue == report_at(planned.services).total.overdue
    assert report_at(planned.services, "2024-04-30T08:00:00+07:00").total.overdue < \
        utc_evening.total.overdue


def test_the_result_links_in_calendar_order(planned):
    report = report_at(planned.services)
    assert [link.url for link in report.links] == [
        TRAN_PHU_LINK,  # 01/5, before Điện Biên Phủ (07/5)
        *LINKS["bai-viet", "bao-quang-nam"],  # due 07/4
        *LINKS["tin-bai-cong", "cong-ttdt"],  # due 22/4
        *LINKS["pt-th", "dai-pt-th"],  # due 30/4
    ]
    first = report.links[1]
    assert first.occurrence == "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ"
    assert first.agency == "Báo Quảng Nam" and first.status == "done"
    assert first.task.startswith("Loạt bài, chuyên mục Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ")
    assert first.done_on == date(2026, 11, 27)  # the test clock's day


# --- The formats -----------------------------------------------------------------------------

def run_report(cli, *args: str):
    return cli("report", "--year", "2024", "--as-of", AS_OF, *args)


def test_the_text_report_reads_in_vietnamese(planned):
    result = run_report(planned)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert text.startswith("BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH TUYÊN TRUYỀN NĂM 2024\n")
    assert "Tính đến 01/5/2024 08:00" in text
    dbp = next(line for line in text.splitlines()
               if line.endswith("Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ"))
    assert dbp.split()[:8] == ["07/5/2024", "10", "4", "2", "3", "3", "1", "33,3%"]
    assert "chưa xác định ngày" in text
    total = [line for line in text.splitlines() if line.endswith("Tổng cộng")]
    assert len(total) == 2
    for line in total:  # tasks, to do, in progress, done, overdue, cancelled, rate
        figures = line.split()
        assert figures[:4] == ["91", "84", "2", "4"] and figures[5:7] == ["1", "4,4%"]
    assert "KẾT QUẢ (5 liên kết)" in text and f"  {TRAN_PHU_LINK}" in text


def test_the_csv_opens_in_a_spreadsheet_with_vietnamese_intact(planned):
    result = run_report(planned, "--format", "csv")
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark, for Excel
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Báo cáo kết quả thực hiện kế hoạch tuyên truyền năm 2024"]
    sections = {row[0]: n for n, row in enumerate(rows) if len(row) == 1}
    assert set(sections) >= {"Theo ngày kỷ niệm", "Theo cơ quan", "Kết quả"}
    header = rows[sections["Theo ngày kỷ niệm"] + 1]
    assert header[:4] == ["Ngày", "Kỷ niệm", "Mã", "Số việc"]
    dbp = next(row for row in rows if row[2:3] == [DBP])
    assert dbp == ["2024-05-07", "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ", DBP,
                   "10", "4", "2", "3", "3", "1", "33"]
    assert ["chưa xác định ngày", "Kỷ niệm 110 năm Ngày sinh chiến sĩ cộng sản Huỳnh Ngọc Huệ",
            "huynh-ngoc-hue"] == next(row[:3] for row in rows if row[2:3] == ["huynh-ngoc-hue"])
    agency = next(row for row in rows if row[2:3] == ["bao-quang-nam"])
    assert agency[:2] == ["Báo Quảng Nam", "Báo Quảng Nam"]
    links = rows[sections["Kết quả"] + 2:]
    assert [row[6] for row in links] == [link.url for link in report_at(planned.services).links]
    assert links[0][4] == "Đã xong" and links[0][5] == "2026-11-27"


def test_text_that_looks_like_a_formula_stays_text(planned):
    result = planned("tasks", "add", "--commemoration", DBP, "--year", "2024", "--kind",
                     "hoi-thao", "--agency", "so-tttt", "--title", "=HYPERLINK(\"x\")")
    assert result.exit_code == 0, result.output
    ident = result.stdout.split()[-1]
    assert planned("tasks", "set", ident, "--link", "https://example.org/a").exit_code == 0
    rows = list(csv.reader(io.StringIO(run_report(planned, "--format", "csv")
                                       .stdout_bytes.decode("utf-8-sig"))))
    assert ["'=HYPERLINK(\"x\")"] == [row[2] for row in rows if row[-1:] ==
                                      ["https://example.org/a"]]
    book = load_workbook(io.BytesIO(to_xlsx(report_at(planned.services))))
    cells = [row[2] for row in book["Kết quả"].iter_rows(min_row=2)
             if row[6].value == "https://example.org/a"]
    assert [(c.value, c.data_type) for c in cells] == [("=HYPERLINK(\"x\")", "s")]


def test_the_xlsx_has_dates_as_dates_and_rates_as_numbers(planned, tmp_path):
    target = tmp_path / "bao-cao.xlsx"
    result = run_report(planned, "-o", str(target))  # the extension chooses the format
    assert result.exit_code == 0, result.output
    book = load_workbook(target)
    assert book.sheetnames == ["Theo ngày kỷ niệm", "Theo cơ quan", "Kết quả"]
    sheet = book["Theo ngày kỷ niệm"]
    header = [c.value for c in sheet[1]]
    assert header == ["Ngày", "Kỷ niệm", "Mã", "Số việc", "Chưa làm", "Đang làm", "Đã xong",
                      "Quá hạn", "Đã hủy", "Tỷ lệ hoàn thành"]
    assert all(c.font.bold for c in sheet[1]) and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= 50
    dbp = next(row for row in sheet.iter_rows(min_row=2) if row[2].value == DBP)
    assert dbp[0].value == datetime(2024, 5, 7) and dbp[0].number_format == "dd/m/yyyy"
    assert isinstance(dbp[3].value, int) and dbp[3].value == 10
    assert dbp[9].value == pytest.approx(3 / 9) and "%" in dbp[9].number_format
    undated = next(row for row in sheet.iter_rows(min_row=2) if row[2].value == "huynh-ngoc-hue")
    assert undated[0].value == "chưa xác định ngày"
    total = list(sheet.iter_rows(min_row=sheet.max_row))[0]
    assert total[1].value == "Tổng cộng" and total[3].value == 91 and total[1].font.bold
    agencies = book["Theo cơ quan"]
    assert [c.value for c in agencies[1]][:3] == ["Cơ quan", "Tên viết tắt", "Mã"]
    links = book["Kết quả"]
    first = [c for c in links[2]]
    assert first[6].value == TRAN_PHU_LINK and first[6].hyperlink.target == TRAN_PHU_LINK
    assert first[5].value == datetime(2026, 11, 27) and first[5].number_format == "dd/m/yyyy"
    assert book.properties.created == datetime(2024, 5, 1, 1, 0)  # the report's moment, UTC


def test_the_xlsx_bytes_depend_on_the_report_only(planned):
    report = report_at(planned.services)
    first = to_xlsx(report)
    assert to_xlsx(report) == first
    with zipfile.ZipFile(io.BytesIO(first)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2024, 5, 1, 8, 0, 0)}


def test_the_json_is_stable(planned):
    first = run_report(planned, "--format", "json")
    assert first.exit_code == 0, first.output
    assert run_report(planned, "--format", "json").stdout == first.stdout
    data = json.loads(first.stdout)
    assert list(data) == ["year", "as_of", "today", "total", "commemorations", "agencies",
                          "links"]
    assert (data["as_of"], data["today"]) == ("2024-05-01T08:00:00+07:00", "2024-05-01")
    dbp = next(line for line in data["commemorations"] if line["id"] == DBP)
    assert dbp == {"id": DBP, "title": "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ",
                   "date": "2024-05-07", "active": True, "tasks": 10, "todo": 4,
                   "in_progress": 2, "done": 3, "cancelled": 1, "overdue": 3, "rate": 0.3333}
    assert data["links"][0] == {
        "commemoration": "tran-phu",
        "occurrence": "Kỷ niệm 120 năm Ngày sinh đồng chí Trần Phú",
        "task": data["links"][0]["task"], "title": data["links"][0]["title"],
        "agency": "bao-quang-nam", "status": "done", "done_on": "2026-11-27",
        "url": TRAN_PHU_LINK}


# --- The command -----------------------------------------------------------------------------

def test_output_files_are_replaced_atomically(planned, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "bao-cao.csv"
    target.write_bytes(b"the previous report")
    keep = out / "kept-link"
    os.link(target, keep)  # a hard link sees what happens to the old file itself
    result = run_report(planned, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert f"wrote {target} (csv," in result.stderr
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")
    # Renamed over, not rewritten in place: the old file is untouched, nothing left behind.
    assert keep.read_bytes() == b"the previous report"
    assert sorted(p.name for p in out.iterdir()) == ["bao-cao.csv", "kept-link"]
    assert (target.stat().st_mode & 0o777) == 0o644


def test_command_errors_are_clear(planned, tmp_path):
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    missing = run_report(planned, "-o", str(tmp_path / "no-such-dir" / "r.csv"))
    assert missing.exit_code == 1
    assert "error: cannot write" in missing.stderr and "No such file" in missing.stderr
    clash = run_report(planned, "--format", "csv", "-o", str(tmp_path / "r.xlsx"))
    assert clash.exit_code == 1 and "does not match the file name r.xlsx" in clash.stderr
    empty = planned("report", "--year", "2031", "-o", str(tmp_path / "r.json"))
    assert empty.exit_code == 1
    assert empty.stderr.strip() == ("error: no tasks in 2031, nothing to report "
                                    "(run: calendar-service plans generate --year 2031)")
    assert list(tmp_path.iterdir()) == []
    bad = run_report(planned, "--as-of", "1/5/2024")
    assert bad.exit_code == 1 and "ISO 8601" in bad.output
    assert planned("report", "--year", "2024", "--format", "pdf").exit_code == 1


def test_xlsx_is_not_written_to_a_terminal(tmp_path):
    """Without -o, XLSX goes to standard output only when that is not a terminal."""
    main, child = pty.openpty()
    env = {**os.environ, "CALENDAR_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "CALENDAR_HOME": str(tmp_path)}
    try:
        done = subprocess.run([sys.executable, "-m", "calendar_service", "report", "--year",
                               "2024", "--format", "xlsx"], stdout=child,
                              stderr=subprocess.PIPE, env=env, cwd=tmp_path, timeout=60)
    finally:
        os.close(child)
        os.close(main)
    assert done.returncode == 1
    assert done.stderr.decode().strip() == ("error: XLSX is a binary file: give -o FILE "
                                            "(or redirect standard output)")


def test_xlsx_goes_to_standard_output_when_it_is_not_a_terminal(planned):
    result = run_report(planned, "--format", "xlsx")
    assert result.exit_code == 0, result.output
    assert load_workbook(io.BytesIO(result.stdout_bytes)).sheetnames[0] == "Theo ngày kỷ niệm"


# --- The page --------------------------------------------------------------------------------

@pytest.fixture
def browser(planned) -> Browser:
    with planned.services.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, planned.services.clock.now())
    return Browser(make_app(planned.services))


@pytest.fixture
def admin(browser) -> Browser:
    assert browser.login().status_code == 302
    return browser


def test_the_report_page_needs_a_login(browser):
    for path in ("/admin/reports/2024", "/admin/reports/2024?format=xlsx"):
        response = browser.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=/admin/reports/2024")


def test_the_report_page_in_vietnamese(admin):
    response = admin.get("/admin/reports/2024")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = response.get_data(as_text=True)
    assert "Báo cáo kết quả thực hiện kế hoạch tuyên truyền năm 2024" in page
    assert "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in page
    assert "chưa xác định ngày" in page and "Tổng cộng" in page
    assert "Đài Phát thanh - Truyền hình Quảng Nam" in page
    assert f'href="{TRAN_PHU_LINK}"' in page and "Kết quả (5 liên kết)" in page
    # The clock of the tests is 27/11/2026: everything open with a day is overdue by then.
    assert "Tính đến 09:00 ngày 27/11/2026" in page
    for fmt in ("csv", "xlsx", "json"):
        assert f'href="/admin/reports/2024?format={fmt}"' in page
    assert 'aria-current="page">Báo cáo kế hoạch</a>' in page  # in the admin menu


@pytest.mark.parametrize("fmt, mimetype, check", [
    ("csv", "text/csv; charset=utf-8", lambda body: body.startswith(b"\xef\xbb\xbf")),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
     lambda body: load_workbook(io.BytesIO(body)).sheetnames[2] == "Kết quả"),
    ("json", "application/json", lambda body: json.loads(body)["year"] == 2024),
])
def test_the_downloads(admin, fmt, mimetype, check):
    response = admin.get(f"/admin/reports/2024?format={fmt}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == mimetype
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="bao-cao-tuyen-truyen-2024.{fmt}"'
    assert response.headers["Cache-Control"] == "no-store"
    assert check(response.data)


def test_a_bad_format_or_year(admin):
    bad = admin.get("/admin/reports/2024?format=pdf")
    assert bad.status_code == 400
    assert "Tham số format=&#39;pdf&#39;: chọn một trong: csv, xlsx, json" in \
        bad.get_data(as_text=True)
    assert admin.get("/admin/reports/2024?format=csv&format=json").status_code == 400
    assert admin.get("/admin/reports/1800").status_code == 404
    empty = admin.get("/admin/reports/2031")
    assert empty.status_code == 200
    assert "Năm 2031 chưa có việc nào" in empty.get_data(as_text=True)


# --- In a real browser: the download button, and the page printed -----------------------------

CHROMIUM = os.environ.get("CALENDAR_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"Chromium: {CHROMIUM} is not installed")
def test_in_chromium_the_report_downloads_and_prints_on_a4_portrait(planned):
    from playwright.sync_api import sync_playwright

    from tests.live import LiveServer

    with planned.services.database.session() as session:
        accounts.create_user(session, "bientap", PASSWORD, planned.services.clock.now())
    with LiveServer(planned.services) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        try:
            page = browser.new_context(locale="vi-VN", accept_downloads=True).new_page()
            page.goto(f"{server.url}/admin/reports/2024")
            page.get_by_label("Tên đăng nhập").fill("bientap")
            page.get_by_label("Mật khẩu").fill(PASSWORD)
            page.get_by_role("button", name="Đăng nhập").click()
            assert page.url.endswith("/admin/reports/2024")  # back where it was going
            assert page.inner_text("h1") == \
                "Báo cáo kết quả thực hiện kế hoạch tuyên truyền năm 2024"
            artifacts = ROOT / "tests" / "artifacts"
            artifacts.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(artifacts / "report.png"), full_page=True)
            with page.expect_download() as download:
                page.get_by_role("link", name="Tải XLSX (Excel)").click()
            assert download.value.suggested_filename == "bao-cao-tuyen-truyen-2024.xlsx"
            with open(download.value.path(), "rb") as saved:  # saved without an extension
                book = load_workbook(io.BytesIO(saved.read()))
            assert book.sheetnames == ["Theo ngày kỷ niệm", "Theo cơ quan", "Kết quả"]

            page.emulate_media(media="print")
            assert not page.locator("nav.admin-nav").is_visible()
            assert not page.locator("header.site").is_visible()
            assert not page.get_by_role("link", name="Tải XLSX (Excel)").is_visible()
            pdf = page.pdf(prefer_css_page_size=True)
            boxes = {(round(float(w)), round(float(h))) for w, h in re.findall(
                rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)}
            assert boxes == {(595, 842)}  # A4 portrait, in points, on every page
            (artifacts / "report.pdf").write_bytes(pdf)
        finally:
            browser.close()
