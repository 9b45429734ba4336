"""Issue 11, items 7–9 for forms: every field of every form is capped before it is
validated, numbers are ASCII digits within a range, a control character in a form is a 400,
a request body has a size limit, and no page echoes more than a field's cap — on SQLite and
on PostgreSQL (where a NUL reaching the database would be a 500)."""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
from flask_wtf import FlaskForm

from calendar_service.admin import forms as admin_forms
from calendar_service.plans import forms as plan_forms
from calendar_service.reminders import forms as reminder_forms
from calendar_service.reminders import subscribers as subs
from calendar_service.web.forms import (
    MAX_CONTENT_LENGTH,
    AsciiDateField,
    AsciiIntegerField,
    Capped,
    Form,
)
from tests.test_admin import admin, admin_services, app, browser, edit_form, stored  # noqa: F401 (fixtures)
from tests.test_plans_web import (
    one_task,
    planned,  # noqa: F401 (fixture)
    stored_task,
    task_form,
)

FORMS = [admin_forms.LoginForm, admin_forms.EditForm, admin_forms.ObservanceForm,
         admin_forms.SubscriberForm, reminder_forms.SignupForm, plan_forms.TaskForm,
         plan_forms.RemoveLinkForm, plan_forms.ManualTaskForm]
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def all_form_classes() -> set[type]:
    found, todo = set(), [FlaskForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("calendar_service.") and sub is not Form:
                found.add(sub)
            todo.append(sub)
    return found


def test_every_form_is_listed_here():
    assert all_form_classes() == set(FORMS)


@pytest.mark.parametrize("form_class", FORMS, ids=lambda c: c.__name__)
def test_every_field_is_capped_before_any_other_validator(app, form_class):
    with app.test_request_context():
        form = form_class(meta={"csrf": False})
        for field in form:
            assert field.validators and isinstance(field.validators[0], Capped), \
                f"{form_class.__name__}.{field.name}"
            if isinstance(field, (AsciiIntegerField, AsciiDateField)):
                continue
            assert field.validators[0].limit <= 5000, field.name


# --- Sign-up (anonymous) ----------------------------------------------------------------

def signup_token(client) -> str:
    return TOKEN.search(client.get("/subscribe").get_data(as_text=True)).group(1)


def test_a_huge_email_field_is_refused_at_once_and_not_echoed(client, loaded):
    big = "a" * 60_000 + "@example.org"
    started = time.monotonic()
    response = client.post("/subscribe", data={"csrf_token": signup_token(client),
                                               "email": big, "scope": "notable"})
    elapsed = time.monotonic() - started
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and elapsed < 1.0
    assert "Địa chỉ e-mail: tối đa 320 ký tự." in page
    assert "a" * 321 not in page  # at most the cap is shown back
    assert len(page) < 30_000


def test_a_body_over_the_limit_is_a_413_in_vietnamese(client):
    response = client.post("/subscribe", data={"csrf_token": signup_token(client),
                                               "email": "x" * (MAX_CONTENT_LENGTH + 1)})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Yêu cầu quá lớn" in page and len(page) < 20_000


def test_a_multipart_form_with_too_many_parts_is_refused(client):
    # (A url-encoded body is bounded by MAX_CONTENT_LENGTH alone: werkzeug reads it whole.)
    data = {f"f{i}": "x" for i in range(200)}
    data["csrf_token"] = signup_token(client)
    response = client.post("/subscribe", data=data, content_type="multipart/form-data")
    assert response.status_code == 413


@pytest.mark.parametrize("field", ["email", "name", "organisation", "scope", "categories"])
def test_a_nul_in_a_sign_up_field_is_a_400(client, loaded, field):
    data = {"csrf_token": signup_token(client), "email": "editor@example.org",
            "scope": "notable", field: "a\x00b@example.org"}
    response = client.post("/subscribe", data=data)
    assert response.status_code == 400
    assert "ký tự điều khiển" in response.get_data(as_text=True)
    with loaded.database.session() as session:
        assert subs.find(session, "editor@example.org") is None


# --- Admin forms --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["admin\x00", "\x00", "a\x00' OR 1=1 --"])
def test_a_nul_in_the_login_name_is_a_400(browser, name):
    response = browser.login(username=name)
    assert response.status_code == 400
    assert "ký tự điều khiển" in response.get_data(as_text=True)


@pytest.mark.parametrize("field", ["title", "description", "location", "note", "lead_days",
                                   "revision"])
def test_a_nul_in_an_edit_form_field_is_a_400(admin, admin_services, field):
    response = admin.post("/admin/events/tran-phu",
                          edit_form(admin_services, "tran-phu", **{field: "x\x00y"}),
                          page="/admin/events/tran-phu")
    assert response.status_code == 400
    assert stored(admin_services, "tran-phu").revision == 1


@pytest.mark.parametrize("revision", ["١", "１", "1_0", " 1", "+1", "9" * 30, "2147483648",
                                      "-1", "1e3", ""])
def test_the_revision_is_ascii_digits_within_range(admin, admin_services, revision):
    response = admin.post("/admin/events/tran-phu",
                          edit_form(admin_services, "tran-phu", revision=revision,
                                    title="Đổi tên"),
                          page="/admin/events/tran-phu")
    assert response.status_code == 400
    assert stored(admin_services, "tran-phu").revision == 1


@pytest.mark.parametrize("field, says", [
    ("title", "Tên: tối đa 300 ký tự."),
    ("description", "Mô tả: tối đa 5000 ký tự."),
    ("note", "Ghi chú: tối đa 5000 ký tự."),
    ("location", "Địa điểm: tối đa 500 ký tự."),
])
def test_a_long_edit_field_is_refused_and_cut_in_the_answer(admin, admin_services, field, says):
    response = admin.post("/admin/events/tran-phu",
                          edit_form(admin_services, "tran-phu", **{field: "ư" * 10_000}),
                          page="/admin/events/tran-phu")  # 60 KB once percent-encoded
    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 400 and says in page
    assert "ư" * 5001 not in page


@pytest.mark.parametrize("day", ["٢٠٢٧-٠٨-٠٩", "２０２７-08-09", "2027-8-9", "99999-01-01",
                                 "2027-02-30", "x" * 5000])
def test_an_observance_day_is_ascii(admin, admin_services, day):
    admin.post("/admin/events/huynh-ngoc-hue/observances", {"observed_on": day},
               page="/admin/events/huynh-ngoc-hue")
    assert "Ngày không hợp lệ (dạng YYYY-MM-DD)." in admin.text("/admin/events/huynh-ngoc-hue")
    assert stored(admin_services, "huynh-ngoc-hue").revision == 1


def test_the_subscriber_search_with_a_nul_is_a_400(admin):
    assert admin.get("/admin/subscribers?q=%00").status_code == 400


@pytest.mark.parametrize("field", ["email", "name", "webhook", "lead_days"])
def test_a_nul_in_the_admin_subscriber_form_is_a_400(admin, admin_services, field):
    data = {"email": "new@example.org", "scope": "notable", field: "x\x00y"}
    assert admin.post("/admin/subscribers", data, page="/admin/subscribers").status_code == 400
    with admin_services.database.session() as session:
        assert subs.find(session, "new@example.org") is None


# --- Task forms (a member of an agency) ----------------------------------------------------

@pytest.fixture
def member(planned):
    from tests.test_plans_web import logged_in, make_app

    return logged_in(make_app(planned), "bqn")


@pytest.mark.parametrize("values", [
    {"note": "a\x00b"}, {"link": "https://example.org/\x00"}, {"status": "done\x00"},
    {"revision": "١"}, {"revision": "9" * 40}, {"note": "x" * 40_000},
    {"link": "https://example.org/" + "a" * 40_000}, {"status": "x" * 40_000},
])
def test_a_bad_task_form_is_a_400_and_writes_nothing(member, planned, values):
    ident = one_task(planned, "bao-quang-nam")["id"]
    response = member.post(f"/admin/tasks/{ident}",
                           task_form(member, ident, **{"status": "done", **values}),
                           page=f"/admin/tasks/{ident}")
    assert response.status_code == 400
    assert "a" * 2001 not in response.get_data(as_text=True)
    row = stored_task(planned, ident)
    assert (row.status, row.links, row.revision) == ("todo", [], 1)


def test_a_manual_task_due_day_is_ascii(planned):
    from tests.test_plans_web import logged_in, make_app

    admin = logged_in(make_app(planned), "admin")
    response = admin.post("/admin/plans/2024/tasks/new", {
        "commemoration": "dien-bien-phu", "kind": "bai-viet", "agency": "so-tttt",
        "title": "Bài viết", "due": "２０２４-05-01"}, page="/admin/plans/2024/tasks/new")
    assert response.status_code == 400
    assert "Hạn không hợp lệ (dạng YYYY-MM-DD)." in response.get_data(as_text=True)
