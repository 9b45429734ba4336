"""Communications plans: agencies and templates as checked data, tasks generated once and kept
in step with the catalogue, the `plans`, `tasks` and `agencies` commands."""

from __future__ import annotations

import json
import textwrap
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from calendar_service.anniversaries import occurrence_in
from calendar_service.catalogue import CatalogueError, load_catalogue
from calendar_service.planning import plan_for, template_for
from calendar_service.plans.models import TaskRow
from calendar_service.store.audit import AuditEntry
from calendar_service.store.models import AgencyRow
from tests.conftest import ROOT

EVENTS = ROOT / "events"
FILES = [EVENTS / "2024.toml", EVENTS / "agencies.toml", EVENTS / "plans.toml"]
II_2 = {"so-vhttdl", "so-tttt", "ban-tuyen-giao", "bao-quang-nam", "dai-pt-th", "cong-ttdt"}
II_3 = {"hd-tdkt", "so-noi-vu"}


@pytest.fixture(scope="module")
def shipped():
    return load_catalogue(FILES)


def by_id(items):
    return {i.id: i for i in items}


# --- The shipped data -----------------------------------------------------------------------

def test_the_agencies_of_section_ii(shipped):
    agencies = by_id(shipped.agencies)
    assert set(agencies) == II_2 | II_3
    assert {a.id for a in shipped.agencies if a.role == "follow-up"} == II_3
    assert all("II.2" in agencies[i].source for i in II_2)
    assert all("II.3" in agencies[i].source for i in II_3)
    assert agencies["dai-pt-th"].name == "Đài Phát thanh - Truyền hình Quảng Nam"


def test_a_round_victory_gets_a_full_set_across_the_six_agencies(shipped):
    dbp = by_id(shipped.commemorations)["dien-bien-phu"]
    tasks = plan_for(occurrence_in(dbp, 2024), shipped.templates)
    assert {t.agency for t in tasks} >= II_2
    assert {"huong-dan", "bai-viet", "pt-th", "tin-bai-cong", "co-dong", "le-ky-niem",
            "bao-cao"} <= {t.kind for t in tasks}
    guidance = next(t for t in tasks if t.kind == "huong-dan" and t.agency == "ban-tuyen-giao")
    assert guidance.due == date(2024, 3, 8)  # 60 days before 07/5/2024
    banners = next(t for t in tasks if t.kind == "co-dong")
    assert banners.window == (date(2024, 4, 26), date(2024, 5, 8))  # Kon Tum, ĐBP 70
    assert guidance.title == ("Hướng dẫn tuyên truyền, đề cương và khẩu hiệu Kỷ niệm 70 năm "
                              "Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2024)")


def test_a_non_round_birth_anniversary_gets_a_portal_article_and_a_newspaper_piece(shipped):
    tran_phu = by_id(shipped.commemorations)["tran-phu"]
    tasks = plan_for(occurrence_in(tran_phu, 2026), shipped.templates)  # the 122nd
    assert sorted((t.kind, t.agency) for t in tasks) == [
        ("bai-viet", "bao-quang-nam"), ("tin-bai-cong", "cong-ttdt")]
    assert {t.due for t in tasks} == {date(2026, 5, 1)}


def test_the_first_template_that_applies_wins(shipped):
    entries = by_id(shipped.commemorations)
    def chosen(ident: str) -> str:
        return template_for(shipped.templates, occurrence_in(entries[ident], 2024)).id

    assert chosen("nguyen-trac") == "nguoi-quang-nam-nam-tron"
    assert chosen("tran-phu") == "nam-tron-ngay-sinh"


def test_a_year_only_occurrence_without_a_day_gets_no_invented_due_date(shipped):
    hue = by_id(shipped.commemorations)["huynh-ngoc-hue"]
    tasks = plan_for(occurrence_in(hue, 2024), shipped.templates)
    assert tasks and all(t.due is None and t.window is None for t in tasks)
    thu = by_id(shipped.commemorations)["me-nguyen-thi-thu"]  # its 2024 day was chosen
    ceremony = next(t for t in plan_for(occurrence_in(thu, 2024), shipped.templates)
                    if t.kind == "le-ky-niem")
    assert ceremony.due == date(2024, 7, 27)


# --- Checked like the catalogue -------------------------------------------------------------

AGENCY = """
[[agency]]
id = "so-tttt"
name = "Sở Thông tin và Truyền thông"
short_names = ["Sở TTTT"]
role = "lead"
source = "Chỉ thị, mục II.2"
"""

TEMPLATE = """
[[template]]
id = "mau"
name = "Mẫu"
categories = ["victory"]

[[template.activity]]
kind = "tin-bai-cong"
title = "Tin bài {occurrence}"
agency = "so-tttt"
due = -3
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(*paths: Path) -> list[str]:
    with pytest.raises(CatalogueError) as info:
        load_catalogue([EVENTS / "2024.toml", *paths])
    return [str(p) for p in info.value.problems]


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_good_agencies_and_templates_load(tmp_path):
    catalogue = load_catalogue([EVENTS / "2024.toml", write(tmp_path, "a.toml", AGENCY),
                                write(tmp_path, "p.toml", TEMPLATE)])
    assert [a.id for a in catalogue.agencies] == ["so-tttt"]
    assert [t.id for t in catalogue.templates] == ["mau"]


def test_an_unknown_agency_is_named_with_its_file_and_line(tmp_path):
    agencies = write(tmp_path, "a.toml", AGENCY)
    plans = write(tmp_path, "p.toml", TEMPLATE.replace('agency = "so-tttt"',
                                                       'agency = "so-ttt"'))
    assert problems(agencies, plans) == [
        f"{plans}:{line_of(plans, 'so-ttt')}: agency: unknown agency 'so-ttt' "
        "(did you mean 'so-tttt'?)"]


def test_every_mistake_in_agencies_and_templates_at_once(tmp_path):
    agencies = write(tmp_path, "a.toml", AGENCY + AGENCY.replace('role = "lead"',
                                                                 'role = "boss"\nphone = "1"'))
    plans = write(tmp_path, "p.toml", TEMPLATE.replace("{occurrence}", "{occasion}")
                  .replace("due = -3", "due = -400\nfrom = 5\nto = 1")
                  .replace('kind = "tin-bai-cong"', 'kind = "podcast"')
                  .replace('categories = ["victory"]', 'categories = ["war"]\nround = "yes"'))
    found = problems(agencies, plans)
    expected = [
        (agencies, "duplicate id 'so-tttt'"), (agencies, "role: unknown role 'boss'"),
        (agencies, "phone: unknown key"), (plans, "categories: unknown category 'war'"),
        (plans, "round: expected true or false"), (plans, "kind: unknown kind 'podcast'"),
        (plans, "title: unknown field {occasion}"), (plans, "due: expected whole days"),
        (plans, "to: the window ends (1) before it starts (5)"),
    ]
    for path, text in expected:
        assert any(p.startswith(f"{path}:") and text in p for p in found), (text, found)
    assert len(found) == len(expected)


def test_a_template_may_name_only_known_commemorations(tmp_path):
    agencies = write(tmp_path, "a.toml", AGENCY)
    plans = write(tmp_path, "p.toml", TEMPLATE.replace(
        'categories = ["victory"]', 'commemorations = ["dien-bien-phu", "dien-ben-phu"]'))
    (message,) = problems(agencies, plans)
    assert message.startswith(f"{plans}:{line_of(plans, 'commemorations')}: commemorations: "
                              "unknown commemoration 'dien-ben-phu'")


def test_check_names_what_each_file_holds(cli):
    result = cli("check", *map(str, FILES))
    assert result.exit_code == 0
    assert f"{EVENTS / 'agencies.toml'}: 8 agencies: OK" in result.stdout
    assert f"{EVENTS / 'plans.toml'}: 5 plan templates: OK" in result.stdout


# --- Tasks in the store ---------------------------------------------------------------------

@pytest.fixture
def planned(cli):
    assert cli("load", *map(str, FILES)).exit_code == 0
    result = cli("plans", "generate", "--year", "2024")
    assert result.exit_code == 0, result.output
    return cli


def tasks_json(cli, *args) -> list[dict]:
    result = cli("tasks", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def count_tasks(services) -> int:
    with services.database.session() as session:
        return session.scalar(select(func.count()).select_from(TaskRow))


def test_generate_creates_the_years_tasks_once(planned):
    total = count_tasks(planned.services)
    assert total == 91
    again = planned("plans", "generate", "--year", "2024")
    assert again.stdout.strip().endswith("0 added, 0 changed, 0 cancelled, 91 unchanged")
    assert count_tasks(planned.services) == total


def test_a_dry_run_writes_nothing(cli):
    assert cli("load", *map(str, FILES)).exit_code == 0
    result = cli("plans", "generate", "--year", "2024", "--dry-run")
    assert "would be added: dien-bien-phu 2024 le-ky-niem → so-vhttdl" in result.stdout
    assert result.stdout.strip().endswith("dry run: 2024: 91 added, 0 changed, 0 cancelled, "
                                          "0 unchanged")
    assert count_tasks(cli.services) == 0


def test_the_task_listing_json(planned):
    found = tasks_json(planned, "--year", "2024", "--agency", "so-vhttdl",
                       "--as-of", "2024-05-01T08:00")
    assert {r["agency"] for r in found} == {"so-vhttdl"}
    assert set(found[0]) >= {"id", "commemoration", "year", "kind", "title", "agency", "due",
                             "status", "overdue", "links"}
    overdue = [r for r in found if r["overdue"]]
    assert overdue and found[:len(overdue)] == overdue  # overdue on top
    assert all(r["due"] < "2024-05-01" for r in overdue)
    rest = [r["due"] for r in found[len(overdue):] if r["due"]]
    assert rest == sorted(rest)  # next due first
    assert found[-1]["due"] is None  # to be decided, last (Huỳnh Ngọc Huệ)


def test_marking_a_task_done_with_a_link(planned):
    (task,) = [r for r in tasks_json(planned, "--agency", "bao-quang-nam")
               if r["commemoration"] == "dien-bien-phu"]
    link = "https://baoquangnam.vn/chien-thang-dien-bien-phu-70-nam-3129401.html"
    result = planned("tasks", "set", str(task["id"]), "--status", "done", "--link", link,
                     "--note", "Loạt 5 bài, đăng từ 07/4 đến 07/5.")
    assert result.exit_code == 0, result.output
    (after,) = [r for r in tasks_json(planned, "--status", "done")]
    assert (after["id"], after["links"], after["overdue"]) == (task["id"], [link], False)
    with planned.services.database.session() as session:
        entry = session.scalars(select(AuditEntry).where(
            AuditEntry.subject == f"task:{task['id']}")).one()
        assert entry.username == "dòng lệnh" and entry.changes["status"] == {
            "before": "todo", "after": "done"}
    # Generating again keeps all of it.
    planned("plans", "generate", "--year", "2024")
    (kept,) = tasks_json(planned, "--status", "done")
    assert kept["links"] == [link] and kept["note"] == "Loạt 5 bài, đăng từ 07/4 đến 07/5."


@pytest.mark.parametrize("args, message", [
    (["999999", "--status", "done"], "no task 999999"),
    (["1", "--link", "javascript:alert(1)"], "http:// hoặc https://"),
    (["1", "--link", "https://example.org/a b"], "khoảng trắng"),
    (["1", "--note", "a\x00b"], "ký tự điều khiển"),
    (["1"], "nothing to change"),
])
def test_a_bad_change_is_a_clear_error_and_writes_nothing(planned, args, message):
    before = tasks_json(planned)
    result = planned("tasks", "set", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert tasks_json(planned) == before


def test_a_bad_status_is_refused_by_the_command(planned):
    result = planned("tasks", "set", "1", "--status", "finished")
    assert result.exit_code == 1 and "finished" in result.output


def test_an_observance_day_moves_open_tasks_not_done_ones(planned, tmp_path):
    hue = [r for r in tasks_json(planned) if r["commemoration"] == "huynh-ngoc-hue"]
    assert hue and all(r["due"] is None for r in hue)
    done = hue[0]
    assert planned("tasks", "set", str(done["id"]), "--status", "done").exit_code == 0
    text = (EVENTS / "2024.toml").read_text(encoding="utf-8").replace(
        'id = "huynh-ngoc-hue"', 'id = "huynh-ngoc-hue"\nobserved_on = 2024-08-10')
    changed = tmp_path / "2024.toml"
    changed.write_text(text, encoding="utf-8")
    assert planned("load", str(changed), *map(str, FILES[1:])).exit_code == 0
    after = {r["id"]: r for r in tasks_json(planned) if r["commemoration"] == "huynh-ngoc-hue"}
    assert after[done["id"]]["due"] is None  # done: as it was
    ceremony = next(r for r in after.values() if r["kind"] == "le-ky-niem")
    assert ceremony["due"] == "2024-08-10"
    report = next(r for r in after.values() if r["kind"] == "bao-cao")
    assert report["due"] == "2024-08-25"


def test_a_cancelled_commemoration_cancels_its_open_tasks_and_keeps_them(planned, tmp_path):
    text = (EVENTS / "2024.toml").read_text(encoding="utf-8")
    start = text.index('[[commemoration]]\nid = "thuong-duc"')
    end = text.index("[[commemoration]]", start + 10)
    without = tmp_path / "2024.toml"
    without.write_text(text[:start] + text[end:], encoding="utf-8")
    before = [r for r in tasks_json(planned) if r["commemoration"] == "thuong-duc"]
    assert planned("tasks", "set", str(before[0]["id"]), "--status", "done").exit_code == 0
    result = planned("load", str(without), *map(str, FILES[1:]))
    assert "task cancelled with its commemoration: thuong-duc 2024" in result.stdout
    after = {r["id"]: r for r in tasks_json(planned) if r["commemoration"] == "thuong-duc"}
    assert set(after) == {r["id"] for r in before}  # none deleted
    assert after[before[0]["id"]]["status"] == "done"
    assert all(r["status"] == "cancelled" for i, r in after.items() if i != before[0]["id"])


def test_a_changed_template_updates_open_tasks_and_keeps_edits(planned, tmp_path):
    plans = tmp_path / "plans.toml"
    plans.write_text((EVENTS / "plans.toml").read_text(encoding="utf-8").replace(
        "due = -60", "due = -75"), encoding="utf-8")
    assert planned("load", str(FILES[0]), str(FILES[1]), str(plans)).exit_code == 0
    result = planned("plans", "generate", "--year", "2024")
    assert "changed: dien-bien-phu 2024 huong-dan → ban-tuyen-giao" in result.stdout
    guidance = next(r for r in tasks_json(planned, "--agency", "ban-tuyen-giao")
                    if r["commemoration"] == "dien-bien-phu" and r["kind"] == "huong-dan")
    assert guidance["due"] == "2024-02-22"  # 75 days before 07/5


def test_manual_tasks_are_added_and_removed(planned):
    result = planned("tasks", "add", "--commemoration", "dien-bien-phu", "--year", "2024",
                     "--kind", "hoi-thao", "--agency", "so-tttt",
                     "--title", "Tọa đàm báo chí về Điện Biên Phủ", "--due", "2024-05-03")
    assert result.exit_code == 0, result.output
    ident = int(result.stdout.split()[-1])
    (task,) = [r for r in tasks_json(planned) if r["id"] == ident]
    assert (task["manual"], task["due"], task["kind"]) == (True, "2024-05-03", "hoi-thao")
    generated = next(r for r in tasks_json(planned) if not r["manual"])
    refused = planned("tasks", "remove", str(generated["id"]))
    assert refused.exit_code == 1 and "Đã hủy" in refused.stderr
    assert planned("tasks", "remove", str(ident)).exit_code == 0
    assert ident not in {r["id"] for r in tasks_json(planned)}
    bad = planned("tasks", "add", "--commemoration", "khong-co", "--year", "2024", "--kind",
                  "hoi-thao", "--agency", "so-tttt", "--title", "x")
    assert bad.exit_code == 1 and "khong-co" in bad.stderr


def test_the_agency_feed_address_can_be_rotated(planned):
    first = planned("agencies", "feed-url", "so-tttt").stdout.strip()
    assert first == planned("agencies", "feed-url", "so-tttt").stdout.strip()
    rotated = planned("agencies", "feed-url", "so-tttt", "--rotate").stdout.strip()
    assert rotated != first and rotated.startswith(
        f"{planned.services.settings.base_url}/agencies/so-tttt/")
    assert planned("agencies", "feed-url", "khong-co").exit_code == 1


def test_agencies_gone_from_the_file_are_kept_inactive(planned, tmp_path):
    text = (EVENTS / "agencies.toml").read_text(encoding="utf-8")
    start = text.index('[[agency]]\nid = "so-noi-vu"')
    fewer = tmp_path / "agencies.toml"
    fewer.write_text(text[:start], encoding="utf-8")
    plans = tmp_path / "plans.toml"  # the templates may no longer name it either
    plans.write_text((EVENTS / "plans.toml").read_text(encoding="utf-8").replace(
        ', "so-noi-vu"', "").replace(
        '[[template.activity]]\nkind = "bao-cao"\ntitle = "Theo dõi', '[[template.activity]]\n'
        'kind = "bao-cao"\ntitle = "Theo dõi').replace('agency = "so-noi-vu"',
                                                        'agency = "hd-tdkt"').replace(
        'with = ["hd-tdkt"]\ndue = 30', 'due = 30'), encoding="utf-8")
    result = planned("load", str(FILES[0]), str(fewer), str(plans))
    assert result.exit_code == 0, result.output
    assert "1 no longer in the files" in result.stdout
    listed = json.loads(planned("agencies", "list", "--json").stdout)
    assert "so-noi-vu" not in {a["id"] for a in listed}
    with planned.services.database.session() as session:
        assert session.get(AgencyRow, "so-noi-vu").active is False


def test_an_administrators_observance_day_and_cancellation_reach_the_tasks(planned):
    from calendar_service.admin import accounts
    from tests.test_admin import PASSWORD, Browser, make_app

    services = planned.services
    with services.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, services.clock.now())
    admin = Browser(make_app(services))
    assert admin.login().status_code == 302
    page = "/admin/events/huynh-ngoc-hue"
    assert admin.post(f"{page}/observances", {"observed_on": "2024-08-09"},
                      page=page).status_code == 302
    hue = [r for r in tasks_json(planned) if r["commemoration"] == "huynh-ngoc-hue"]
    assert {r["kind"]: r["due"] for r in hue}["le-ky-niem"] == "2024-08-09"
    assert admin.post("/admin/events/thuong-duc/cancel",
                      page="/admin/events/thuong-duc").status_code == 302
    duc = [r for r in tasks_json(planned) if r["commemoration"] == "thuong-duc"]
    assert duc and {r["status"] for r in duc} == {"cancelled"}
