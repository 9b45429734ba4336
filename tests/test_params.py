"""The one query-string parser (calendar_service/params.py) and what it protects: every
malformed value is a 400 that names the parameter — a problem document under /api/, plain
text for calendar files, the Vietnamese page elsewhere — never a 500, on SQLite and
PostgreSQL; control characters are refused at the edge; integer path segments that would
overflow a database integer are a 404; the command line refuses days it cannot count."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from calendar_service.admin import accounts
from calendar_service.catalogue import CATEGORIES
from calendar_service.params import (
    Choice,
    Day,
    Flag,
    Integer,
    ParamError,
    Params,
    Slugs,
    Text,
)
from calendar_service.reminders import subscribers as subs
from tests.conftest import NOW
from tests.test_admin import PASSWORD, Browser, edit_form, make_app, stored

SPEC = Params({
    "from": Day(), "flag": Flag(), "page": Integer(1, 10_000, default=1),
    "only": Choice(("designated", "round", "notable")), "category": Slugs(CATEGORIES),
    "q": Text(100)})
UNICODE_DIGITS = ["²", "³", "٣", "１", "12³", "۱۲", "໑"]


def error(args, strict: bool = False) -> ParamError:
    with pytest.raises(ParamError) as caught:
        SPEC.parse(MultiDict(args), strict=strict)
    return caught.value


# --- The parser -----------------------------------------------------------------------

def test_nothing_given_is_every_default():
    values = SPEC.parse(MultiDict())
    assert dict(values) == {"from": None, "flag": False, "page": 1, "only": None,
                            "category": (), "q": ""}
    assert values.given == frozenset()


def test_values_by_name_and_as_attributes():
    values = SPEC.parse(MultiDict({"from": "2024-05-07", "page": "3", "q": " Điện Biên "}))
    assert values["from"] == date(2024, 5, 7) and values.page == 3 and values.q == "Điện Biên"
    assert values.given == {"from", "page", "q"}
    with pytest.raises(AttributeError):
        values.nope  # noqa: B018


@pytest.mark.parametrize("raw", UNICODE_DIGITS)
def test_numbers_are_ascii_digits_only(raw):
    assert str.isdigit(raw[-1])  # what the old parsers trusted
    exc = error({"page": raw})
    assert exc.name == "page"
    assert str(exc) == f"Tham số page={raw!r}: cần số nguyên từ 1 đến 10000."


@pytest.mark.parametrize("raw", ["9" * 5000, "1" * 11, "0" * 4301],
                         ids=["5000-nines", "11-ones", "4301-zeros"])
def test_a_huge_number_is_refused_before_int_reads_it(raw):
    exc = error({"page": raw})
    assert str(exc).startswith("Tham số page=") and "từ 1 đến 10000" in str(exc)
    assert len(str(exc)) < 100  # the value is quoted cut short, not echoed whole


@pytest.mark.parametrize("raw", ["0", "10001", "-1", "+1", "1.0", "1e3", "0x10", "1_000"])
def test_numbers_outside_the_range_or_not_plain_are_refused(raw):
    assert "cần số nguyên từ 1 đến 10000" in str(error({"page": raw}))


def test_numbers_in_range_with_leading_zeros():
    assert SPEC.parse(MultiDict({"page": "0010000"})).page == 10_000
    assert SPEC.parse(MultiDict({"page": "1"})).page == 1


@pytest.mark.parametrize("word, value", [
    *[(w, True) for w in ("1", "true", "yes", "on", "TRUE", "Yes", "ON", "oN")],
    *[(w, False) for w in ("0", "false", "no", "off", "FALSE", "No", "OFF", "Off")],
])
@pytest.mark.parametrize("strict", [False, True])
def test_one_vocabulary_for_booleans_in_both_modes(word, value, strict):
    assert SPEC.parse(MultiDict({"flag": word}), strict=strict).flag is value


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "n", "tru", "vâng", "１"])
def test_other_booleans_are_refused_with_the_vocabulary(raw):
    message = str(error({"flag": raw}))
    assert message.startswith(f"Tham số flag={raw!r}:")
    assert all(w in message for w in ("1", "0", "true/false", "yes/no", "on/off"))


@pytest.mark.parametrize("name", ["from", "flag", "page", "only", "category"])
def test_empty_is_unset_in_the_forms_mode_and_an_error_in_strict_mode(name):
    assert SPEC.parse(MultiDict({name: ""}))[name] == SPEC.parse(MultiDict())[name]
    assert SPEC.parse(MultiDict({name: "   "}))[name] == SPEC.parse(MultiDict())[name]
    assert str(error({name: ""}, strict=True)) == f"Tham số {name} không được để trống."


def test_free_text_may_be_empty_even_in_strict_mode():
    assert SPEC.parse(MultiDict({"q": ""}), strict=True).q == ""
    assert SPEC.parse(MultiDict({"q": "  "}), strict=True).given == frozenset()


def test_strict_mode_reads_values_exactly_as_given():
    assert SPEC.parse(MultiDict({"page": " 7 ", "flag": " on "})).page == 7
    assert "cần số nguyên" in str(error({"page": " 7"}, strict=True))
    assert "dùng 1 hoặc 0" in str(error({"flag": "1 "}, strict=True))
    assert SPEC.parse(MultiDict({"category": "victory, founding"})).category == (
        "founding", "victory")
    assert str(error({"category": "victory, founding"}, strict=True)).startswith(
        "Tham số category=' founding': không có giá trị này")


@pytest.mark.parametrize("raw", ["\x00", "2024\x00", "a\x00b", "\n", "1\r\n", "\t1", "\x1b[0m",
                                 "\x7f"])
@pytest.mark.parametrize("name", ["from", "flag", "page", "only", "category", "q"])
def test_control_characters_are_refused_in_every_kind(name, raw):
    for strict in (False, True):
        exc = error({name: raw}, strict=strict)
        assert exc.name == name
        assert str(exc).startswith(f"Tham số {name}=")
        assert "không được chứa ký tự điều khiển" in str(exc)


def test_every_value_has_a_maximum_length():
    assert SPEC.parse(MultiDict({"q": "đ" * 100})).q == "đ" * 100
    assert str(error({"q": "đ" * 101})) == "Tham số q: tối đa 100 ký tự."
    assert str(error({"q": "x" * 5000})) == "Tham số q: tối đa 100 ký tự."
    for name in ("from", "flag", "page", "only", "category"):
        exc = error({name: " " * 201})  # even what would strip to nothing
        assert exc.name == name and len(str(exc)) < 200


@pytest.mark.parametrize("raw", ["9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01",
                                 "2024-02-30", "2024-13-01", "2024-5-7", "20240507",
                                 "2024-05-07T00:00", "２０２４-05-07", "2024-05-0７",
                                 "+2024-05-07", "yesterday"])
def test_days_are_ascii_and_between_1900_and_2200(raw):
    exc = error({"from": raw})
    assert exc.name == "from"
    assert str(exc) == (f"Tham số from={raw!r}: cần ngày dạng YYYY-MM-DD, "
                        "từ 1900-01-01 đến 2200-12-31.")


def test_the_first_and_last_days_are_accepted():
    assert SPEC.parse(MultiDict({"from": "1900-01-01"}))["from"] == date(1900, 1, 1)
    assert SPEC.parse(MultiDict({"from": "2200-12-31"}))["from"] == date(2200, 12, 31)
    assert SPEC.parse(MultiDict({"from": "2024-02-29"}))["from"] == date(2024, 2, 29)


def test_categories_repeated_and_comma_separated():
    args = MultiDict([("category", "victory,founding"), ("category", "founding"),
                      ("category", " national-day , ")])
    assert SPEC.parse(args).category == ("founding", "national-day", "victory")
    assert SPEC.parse(MultiDict({"category": "victory,founding"}), strict=True).category == (
        "founding", "victory")
    exc = error([("category", "victory"), ("category", "sports")])
    assert exc.name == "category" and str(exc).startswith("Tham số category='sports':")
    assert all(slug in str(exc) for slug in CATEGORIES)
    assert "không có giá trị này" in str(error({"category": "victory,,founding"}, strict=True))


def test_a_plain_dict_works_too():
    values = SPEC.parse({"category": "victory", "page": "2"})
    assert values.category == ("victory",) and values.page == 2


def test_a_parameter_that_is_not_repeatable_is_given_once():
    exc = error([("page", "1"), ("page", "2")])
    assert exc.name == "page" and str(exc) == "Tham số page chỉ được cho một lần."


def test_choices():
    assert SPEC.parse(MultiDict({"only": "round"})).only == "round"
    assert str(error({"only": "Round"})) == (
        "Tham số only='Round': chọn một trong: designated, round, notable.")


def test_unknown_parameters_are_ignored():
    assert SPEC.parse(MultiDict({"utm_source": "x", "page": "2"})).page == 2


def test_an_integer_kind_needs_a_sane_range():
    with pytest.raises(ValueError):
        Integer(5, 1)
    with pytest.raises(ValueError):
        Integer(-1, 1)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(["from", "flag", "page", "only", "category", "q"]),
                       st.text(max_size=300)), st.booleans())
def test_any_text_is_a_value_or_a_param_error(args, strict):
    try:
        SPEC.parse(args, strict=strict)
    except ParamError as exc:
        assert str(exc).startswith("Tham số ") and exc.name in args


# --- Through the app (SQLite and PostgreSQL) ------------------------------------------

NINES = "9" * 5000

BAD_URLS = [
    # (url, content type of the answer, what the message must say)
    ("/calendar.ics?year=%C2%B2", "text/plain", "Tham số year='²'"),
    ("/calendar.ics?alarm=%C2%B2", "text/plain", "Tham số alarm='²'"),
    (f"/calendar.ics?year={NINES}", "text/plain", "Tham số year="),
    ("/calendar.ics?round=%EF%BC%91", "text/plain", "Tham số round="),
    ("/calendar.ics?category=victory&category=sports", "text/plain", "Tham số category="),
    ("/calendar.ics?year=2024%00", "text/plain", "Tham số year"),
    ("/api/events?page=%C2%B2", "application/problem+json", "Tham số page='²'"),
    ("/api/events?per_page=%C2%B3", "application/problem+json", "Tham số per_page='³'"),
    (f"/api/events?page={NINES}", "application/problem+json", "Tham số page="),
    ("/api/events?from=9999-12-31", "application/problem+json", "Tham số from='9999-12-31'"),
    ("/api/events?to=0001-01-01", "application/problem+json", "Tham số to='0001-01-01'"),
    ("/api/events?page=", "application/problem+json", "Tham số page không được để trống"),
    ("/api/events?page=1&page=2", "application/problem+json", "Tham số page chỉ được"),
    ("/api/events?q=" + "x" * 101, "application/problem+json", "Tham số q: tối đa 100"),
    ("/api/events?q=%00", "application/problem+json", "Tham số q"),
    ("/?page=%C2%B2", "text/html", "Tham số page=&#39;²&#39;"),
    ("/?from=9999-10-10", "text/html", "Tham số from=&#39;9999-10-10&#39;"),
    ("/?q=x&from=9999-01-05", "text/html", "Tham số from=&#39;9999-01-05&#39;"),
    (f"/?per_page={NINES}", "text/html", "Tham số per_page="),
    ("/?designated=maybe", "text/html", "Tham số designated="),
    ("/?q=%0A", "text/html", "Tham số q"),
    ("/?a%00=1", "text/html", "ký tự điều khiển"),
]


def check_error(response, mimetype: str, says: str) -> str:
    assert response.status_code == 400
    assert response.mimetype == mimetype
    text = response.get_data(as_text=True)
    if mimetype == "application/problem+json":
        body = json.loads(text)
        assert body["status"] == 400 and body["title"] == "Bad Request"
        text = body["detail"]
    elif mimetype == "text/html":
        assert '<html lang="vi">' in text and "Yêu cầu không hợp lệ" in text
    assert says in text
    assert NINES not in text  # a huge value is never echoed back whole
    return text


@pytest.mark.parametrize("url, mimetype, says", BAD_URLS,
                         ids=[u[:60] for u, _, _ in BAD_URLS])
def test_bad_parameters_are_400_naming_the_parameter(client, url, mimetype, says):
    check_error(client.get(url), mimetype, says)


@pytest.mark.parametrize("url, mimetype", [
    ("/events/dien-bien-phu%00", "text/html"),
    ("/events/dien-bien-phu%00.ics", "text/plain"),
    ("/api/events/x%00y", "application/problem+json"),
    ("/api/events/dien-bien-phu%0A", "application/problem+json"),
    ("/year/2024%1B", "text/html"),
    ("/nope%7F", "text/html"),
])
def test_a_control_character_in_the_path_is_refused_at_the_edge(client, url, mimetype):
    check_error(client.get(url), mimetype, "Địa chỉ chứa ký tự điều khiển")


def test_one_vocabulary_for_booleans_everywhere(client):
    listing = "/api/events?from=2027-01-01&to=2029-12-31&per_page=200"  # round in 2029 only

    def ids(url: str) -> list[str]:
        response = client.get(url)
        assert response.status_code == 200, url
        return [o["id"] for o in response.get_json()["items"]]

    everything = ids(listing)
    round_only = ids(listing + "&round=1")
    assert 0 < len(round_only) < len(everything)
    for word in ("on", "YES", "True", "1"):
        assert ids(f"{listing}&round={word}") == round_only
    for word in ("off", "NO", "False", "0"):
        assert ids(f"{listing}&round={word}") == everything
    # The page took `off` as a 400 before while the feed took it; now both do, alike.
    page = client.get("/?from=2028-10-01&round=off")
    assert page.status_code == 200
    assert page.data == client.get("/?from=2028-10-01").data
    assert client.get("/?from=2028-10-01&round=ON").data != page.data
    feed = client.get("/calendar.ics?year=2028&round=OFF")
    assert feed.status_code == 200 and feed.data == client.get("/calendar.ics?year=2028").data
    assert client.get("/calendar.ics?year=2028&round=yes").data != feed.data


def test_good_parameters_still_work(client):
    response = client.get("/api/events?from=2024-05-01&to=2024-05-31&category=victory"
                          "&designated=1&page=1&per_page=10")
    assert [o["id"] for o in response.get_json()["items"]] == ["dien-bien-phu"]
    assert "Chiến thắng Điện Biên Phủ" in client.get(
        "/?from=2024-05-01&category=victory&category=founding&only=").get_data(as_text=True)


# --- The admin area -------------------------------------------------------------------

@pytest.fixture
def admin(loaded) -> Browser:
    with loaded.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, loaded.clock.now())
        subs.add(session, subs.NewSubscriber.parse("editor@example.org"), NOW)
    browser = Browser(make_app(loaded))
    assert browser.login().status_code == 302
    return browser


ADMIN_BAD_URLS = [
    ("/admin/?page=%C2%B2", "Tham số page=&#39;²&#39;"),
    (f"/admin/?page={NINES}", "Tham số page="),
    ("/admin/audit?page=%EF%BC%91", "Tham số page=&#39;１&#39;"),
    ("/admin/deliveries?page=%C2%B2", "Tham số page=&#39;²&#39;"),
    ("/admin/deliveries?page=0", "cần số nguyên từ 1 đến 100000"),
    ("/admin/deliveries?status=lost", "Tham số status=&#39;lost&#39;"),
    ("/admin/deliveries?status=sent%00", "Tham số status"),
    ("/admin/subscribers?page=%D9%A3", "Tham số page=&#39;٣&#39;"),
    ("/admin/subscribers?q=%00", "Tham số q"),
    ("/admin/subscribers?q=" + "x" * 201, "Tham số q: tối đa 200 ký tự"),
    ("/admin/subscribers/1?page=%C2%B2", "Tham số page=&#39;²&#39;"),
]


@pytest.mark.parametrize("url, says", ADMIN_BAD_URLS, ids=[u[:50] for u, _ in ADMIN_BAD_URLS])
def test_admin_lists_refuse_bad_parameters(admin, url, says):
    check_error(admin.get(url), "text/html", says)


def test_admin_search_still_finds_and_a_nul_no_longer_lists_everyone(admin):
    assert "editor@example.org" in admin.text("/admin/subscribers?q=editor")
    assert "editor@example.org" not in admin.text("/admin/subscribers?q=nobody")
    assert "editor@example.org" not in admin.get("/admin/subscribers?q=%00").get_data(
        as_text=True)


@pytest.mark.parametrize("ident", ["99999999999999999999999", "2147483648", NINES, "%C2%B2",
                                   "%D9%A3", "%EF%BC%91", "-1"],
                         ids=["20-nines", "2**31", "5000-nines", "²", "٣", "１", "-1"])
def test_a_subscriber_id_that_cannot_be_a_database_integer_is_404(admin, ident):
    assert admin.get(f"/admin/subscribers/{ident}").status_code == 404
    for action in ("deactivate", "reactivate"):
        assert admin.post(f"/admin/subscribers/{ident}/{action}").status_code == 404


def test_the_largest_database_integer_is_an_unknown_subscriber(admin):
    response = admin.get("/admin/subscribers/2147483647")
    assert response.status_code == 404
    assert "Không có người đăng ký này." in response.get_data(as_text=True)


def test_an_observance_year_that_cannot_be_a_database_integer_is_404(admin):
    assert admin.post("/admin/events/huynh-ngoc-hue/observances/99999999999/clear"
                      ).status_code == 404


LEAD_DAYS = [
    ("²", "ghi các số nguyên cách nhau bằng dấu phẩy"),
    ("7, ³", "ghi các số nguyên cách nhau bằng dấu phẩy"),
    ("30, ٣", "ghi các số nguyên cách nhau bằng dấu phẩy"),
    ("１", "ghi các số nguyên cách nhau bằng dấu phẩy"),
    ("9" * 150, "không hợp lệ: 9999999999…"),
    (NINES, "Số ngày nhắc trước: tối đa 200 ký tự."),
    ("7, " + NINES, "Số ngày nhắc trước: tối đa 200 ký tự."),
]
LEAD_DAYS_IDS = [value[:12] for value, _ in LEAD_DAYS]


@pytest.mark.parametrize("lead_days, says", LEAD_DAYS, ids=LEAD_DAYS_IDS)
def test_lead_days_are_ascii_digits_in_the_event_form(admin, loaded, lead_days, says):
    response = admin.post("/admin/events/tran-phu",
                          edit_form(loaded, "tran-phu", lead_days=lead_days),
                          page="/admin/events/tran-phu")
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)
    assert stored(loaded, "tran-phu").revision == 1


@pytest.mark.parametrize("lead_days, says", LEAD_DAYS, ids=LEAD_DAYS_IDS)
def test_lead_days_are_ascii_digits_in_the_subscriber_form(admin, loaded, lead_days, says):
    response = admin.post("/admin/subscribers", {
        "email": "new@example.org", "scope": "notable", "lead_days": lead_days},
        page="/admin/subscribers")
    assert response.status_code == 400
    assert says in response.get_data(as_text=True)
    with loaded.database.session() as session:
        assert subs.find(session, "new@example.org") is None


def test_good_lead_days_are_still_taken(admin, loaded):
    response = admin.post("/admin/subscribers", {
        "email": "new@example.org", "scope": "notable", "lead_days": " 007, 30 "},
        page="/admin/subscribers")
    assert response.status_code == 302
    with loaded.database.session() as session:
        assert subs.find(session, "new@example.org").lead_days == [30, 7]


# --- The command line -----------------------------------------------------------------

@pytest.mark.parametrize("args, says", [
    (("--from", "9999-12-01"), "error: --from 9999-12-01 is outside the supported days, "
                               "1900-01-01 to 2200-12-31"),
    (("--from", "2024-01-01", "--to", "9999-12-31"), "error: --to 9999-12-31 is outside"),
    (("--from", "0001-01-01"), "error: --from 0001-01-01 is outside"),
])
def test_occurrences_refuses_days_it_cannot_count(cli, loaded, args, says):
    result = cli("occurrences", *args)  # an exception would propagate: catch_exceptions=False
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith(says) and result.stderr.count("\n") == 1


def test_occurrences_takes_the_last_supported_day(cli, loaded):
    result = cli("occurrences", "--from", "2200-12-01", "--json")
    assert result.exit_code == 0
    assert all(o["year"] in (2200, 2201) for o in json.loads(result.stdout))
