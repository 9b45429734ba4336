"""Directives and designations as data (issue 12): a file that designates a year, a standing
list that designates nothing, and a 2025 file that only names entries defined elsewhere;
the loader's errors for the new keys (file:line:key); the store, the API, the pages and the
feed saying which directive designated an occurrence; the notable feed in every year."""

from __future__ import annotations

import pytest

from calendar_service.anniversaries import occurrence_in
from calendar_service.app import create_app
from calendar_service.catalogue import load_catalogue
from calendar_service.store import list_commemorations, sync_catalogue
from tests.conftest import ROOT
from tests.ical_checks import check_feed, events
from tests.test_catalogue_errors import line_of, problems

EVENTS = sorted((ROOT / "events").glob("*.toml"))
FIXTURE_2025 = ROOT / "tests" / "data" / "2025.toml"


def by_id(catalogue):
    return {c.id: c for c in catalogue.commemorations}


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


DIRECTIVE_2025 = """\
[catalogue]
designates = 2025
directive = "Chỉ thị năm 2025"
theme = "Chủ đề"
"""


# --- The catalogue ---------------------------------------------------------------------

def test_the_default_files_load_and_the_2025_file_only_designates():
    catalogue = load_catalogue([*EVENTS, FIXTURE_2025])
    entries = by_id(catalogue)
    assert not [c for c in catalogue.commemorations if c.source_file == str(FIXTURE_2025)]
    dbp = entries["dien-bien-phu"]
    assert [(d.year, d.directive, d.ordinal) for d in dbp.designations] == [
        (2024, "chi-thi-2024", 70), (2025, "chi-thi-2025", 71)]
    assert [d.label for d in dbp.designated_by(2025)] == ["Chỉ thị năm 2025"]
    assert dbp.designated_by(2025)[0].title == "Chỉ thị thử nghiệm về các ngày kỷ niệm năm 2025"
    qk = entries["quoc-khanh"]
    assert [(d.year, d.ordinal) for d in qk.designations] == [(2025, 80)]
    assert occurrence_in(qk, 2025).designated and not occurrence_in(qk, 2026).designated
    assert not entries["thanh-lap-dang"].designations  # a standing list designates nothing
    assert [f.id for f in catalogue.directives] == ["chi-thi-2024", "chi-thi-2025"]


def test_a_designation_of_an_unknown_id_names_file_line_and_key(tmp_path):
    path = write(tmp_path, "2025.toml", DIRECTIVE_2025 + '\n[[designation]]\nid = "quoc-khan"\n')
    (message,) = problems(*EVENTS, path)
    assert message == (f"{path}:{line_of(path, 'quoc-khan')}: id: unknown commemoration "
                       "'quoc-khan' (did you mean 'quoc-khanh'?)")


def test_a_designation_ordinal_that_disagrees(tmp_path):
    path = write(tmp_path, "2025.toml",
                 DIRECTIVE_2025 + '\n[[designation]]\nid = "quoc-khanh"\nordinal = 79\n')
    (message,) = problems(*EVENTS, path)
    assert message == (f"{path}:{line_of(path, 'ordinal')}: ordinal: 79 disagrees with the "
                       "computed ordinal 80 (2025 − 1945)")


def test_the_same_entry_designated_twice_by_one_directive(tmp_path):
    path = write(tmp_path, "2025.toml", DIRECTIVE_2025
                 + '\n[[designation]]\nid = "quoc-khanh"\n\n[[designation]]\nid = "quoc-khanh"\n')
    (message,) = problems(*EVENTS, path)
    first, second = line_of(path, "quoc-khanh"), line_of(path, "quoc-khanh", 2)
    assert message == (f"{path}:{second}: id: 'quoc-khanh' is already designated by this "
                       f"directive (at {path}:{first})")


def test_designation_keys_are_checked(tmp_path):
    path = write(tmp_path, "2025.toml", DIRECTIVE_2025
                 + '\n[[designation]]\nid = "quoc-khanh"\nordinal = "80"\nyear = 2025\n')
    assert problems(*EVENTS, path) == [
        f"{path}:{line_of(path, 'year =')}: year: unknown key",
        f"{path}:{line_of(path, 'ordinal')}: ordinal: expected a positive integer, got '80'"]


def test_a_standing_list_cannot_designate(tmp_path):
    path = write(tmp_path, "list.toml", '[catalogue]\nname = "Danh sách"\ndirective = "X"\n'
                 '\n[[designation]]\nid = "quoc-khanh"\n')
    found = problems(*EVENTS, path)
    assert f"{path}:{line_of(path, 'directive =')}: directive: only a directive's file has " \
           "this key: give the year it designates (designates = 2025), or leave it out in " \
           "a standing list" in found
    path.write_text('[catalogue]\nname = "Danh sách"\n\n[[designation]]\nid = "quoc-khanh"\n',
                    encoding="utf-8")
    (message,) = problems(*EVENTS, path)
    assert message.startswith(f"{path}:{line_of(path, '[[designation]]')}: designation: only "
                              "a directive's file designates")


def test_a_standing_list_entry_has_no_ordinal_nor_observed_on(tmp_path):
    path = write(tmp_path, "list.toml", '[catalogue]\nname = "Danh sách"\nsource = "Nguồn"\n'
                 '\n[[commemoration]]\nid = "x"\ntitle = "X"\norigin = 1954-05-07\n'
                 'category = "victory"\ndescription = "Mô tả."\nordinal = 70\n'
                 'observed_on = 2024-05-08\n')
    assert problems(path) == [
        f"{path}:{line_of(path, 'ordinal')}: ordinal: a standing list designates no year, so "
        "an entry has no ordinal of its own (the engine counts it every year)",
        f"{path}:{line_of(path, 'observed_on')}: observed_on: a standing list designates no "
        "year: give the days as observances = [2025-07-27, …]"]


def test_a_standing_list_needs_a_name(tmp_path):
    path = write(tmp_path, "list.toml", '[catalogue]\nscope = "local"\n\n[[commemoration]]\n'
                 'id = "x"\ntitle = "X"\norigin = 1954-05-07\ncategory = "victory"\n'
                 'description = "Mô tả."\nsource = "Nguồn"\n')
    assert f"{path}:{line_of(path, '[catalogue]')}: name: required" in problems(path)


def test_two_directives_of_one_year_need_their_own_ids(tmp_path):
    first = write(tmp_path, "a.toml", DIRECTIVE_2025 + '\n[[designation]]\nid = "quoc-khanh"\n')
    second = write(tmp_path, "b.toml", DIRECTIVE_2025.replace("Chỉ thị năm 2025", "Hướng dẫn")
                   + '\n[[designation]]\nid = "quoc-khanh"\n')
    (message,) = problems(*EVENTS, first, second)
    assert message.startswith(f"{second}:{line_of(second, 'designates')}: id: directive "
                              f"'chi-thi-2025' is already given by {first} with other wording")
    second.write_text(second.read_text().replace("[catalogue]\n",
                                                 '[catalogue]\nid = "huong-dan-2025"\n'))
    entry = by_id(load_catalogue([*EVENTS, first, second]))["quoc-khanh"]
    assert [d.directive for d in entry.designations] == ["chi-thi-2025", "huong-dan-2025"]


@pytest.mark.parametrize("body, key, message", [
    ('old = "A"\nnew = "B"\nsince = "2025-07-01"\nsource = "S"\n', "since",
     "expected a date such as 2025-07-01 (no quotes), got a string"),
    ('old = "A"\nnew = "B"\nsince = 2025-07-01\nsource = "S"\nkind = "moved"\n', "kind",
     '"renamed" (now called new) or "merged" (now part of new), got \'moved\''),
    ('old = "A"\nnew = "A"\nsince = 2025-07-01\nsource = "S"\n', "new", "is the same as old"),
])
def test_rename_errors_name_file_line_and_key(tmp_path, body, key, message):
    path = write(tmp_path, "renames.toml", "[[rename]]\n" + body)
    (found,) = problems(path)
    assert found == f"{path}:{line_of(path, key + ' =')}: {key}: {message}"


def test_a_rename_needs_a_source(tmp_path):
    path = write(tmp_path, "renames.toml", '[[rename]]\nold = "A"\nnew = "B"\nsince = 2025-07-01\n')
    assert problems(path) == [f"{path}:1: source: required"]


# --- The store, the API, the pages, the feed -------------------------------------------

@pytest.fixture
def all_loaded(services):
    with services.database.session() as session:
        sync_catalogue(session, load_catalogue([*EVENTS, FIXTURE_2025]), services.clock.now())
    return services


@pytest.fixture
def web(all_loaded):
    app = create_app(all_loaded)
    app.testing = True
    return app.test_client()


def test_designations_are_stored_with_their_directive(all_loaded):
    with all_loaded.database.session() as session:
        stored = {s.commemoration.id: s.commemoration for s in list_commemorations(session)}
    assert [(d.directive, d.year, d.ordinal, d.label) for d in
            stored["dien-bien-phu"].designations] == [
        ("chi-thi-2024", 2024, 70, "Chỉ thị năm 2024"),
        ("chi-thi-2025", 2025, 71, "Chỉ thị năm 2025")]
    assert stored["quoc-khanh"].scope == "national"
    assert stored["nui-thanh"].scope == "local"


def test_reloading_without_the_2025_file_drops_its_designations(all_loaded, cli):
    result = cli("load", *map(str, EVENTS))
    assert result.exit_code == 0, result.output
    with all_loaded.database.session() as session:
        stored = {s.commemoration.id: s for s in list_commemorations(session)}
    assert [d.year for d in stored["dien-bien-phu"].commemoration.designations] == [2024]
    assert not stored["quoc-khanh"].commemoration.designations
    assert "49 commemorations: 0 added, 0 updated, 0 restored, 0 cancelled, 49 unchanged" in \
        cli("load", *map(str, EVENTS)).stdout


def test_the_api_says_which_directive_designated(web):
    items = web.get("/api/events?from=2025-09-02&to=2025-09-02").get_json()["items"]
    (qk,) = [i for i in items if i["id"] == "quoc-khanh"]
    assert qk["designated"] is True
    assert qk["designated_by"] == [{
        "directive": "chi-thi-2025", "year": 2025, "ordinal": 80, "label": "Chỉ thị năm 2025",
        "title": "Chỉ thị thử nghiệm về các ngày kỷ niệm năm 2025"}]
    event = web.get("/api/events/dien-bien-phu").get_json()
    assert [d["directive"] for d in event["designations"]] == ["chi-thi-2024", "chi-thi-2025"]
    assert event["scope"] == "national" and event["location_today"] is None
    local = web.get("/api/events/thuong-duc").get_json()
    assert local["location"] == "Thượng Đức, huyện Đại Lộc, tỉnh Quảng Nam"  # as issued
    assert local["location_today"] == "nay thuộc thành phố Đà Nẵng"  # NOW is 27/11/2026


def test_pages_badge_the_directive(web):
    home = web.get("/?from=2025-04-25").get_data(as_text=True)
    assert 'title="Chỉ thị thử nghiệm về các ngày kỷ niệm năm 2025">Theo Chỉ thị năm 2025' \
        in home
    event = web.get("/events/dien-bien-phu").get_data(as_text=True)
    assert "Theo Chỉ thị năm 2024" in event and "Theo Chỉ thị năm 2025" in event
    local = web.get("/events/thuong-duc").get_data(as_text=True)
    assert "Thượng Đức, huyện Đại Lộc, tỉnh Quảng Nam (nay thuộc thành phố Đà Nẵng)" in local


def test_the_feed_names_the_directive(web):
    body = web.get("/calendar.ics?year=2025").data
    check_feed(body)
    qk = events(body)["quoc-khanh-1945-09-02.2025@127.0.0.1"]
    assert [str(c) for c in qk["CATEGORIES"].cats][1:] == [
        "Theo chỉ thị", "Chỉ thị năm 2025", "Năm tròn"]
    assert str(qk["X-DESIGNATED-BY"]) == "chi-thi-2025"
    assert "Theo chỉ thị: Chỉ thị năm 2025: Chỉ thị thử nghiệm về các ngày kỷ niệm năm 2025 " \
           "(kỷ niệm 80 năm)." in str(qk["DESCRIPTION"])
    # The location shows today's name as of the occurrence's own day: 2024's does not.
    td_2024 = events(web.get("/calendar.ics?year=2024").data)["thuong-duc-1974-08-07.2024@127.0.0.1"]
    assert str(td_2024["LOCATION"]) == "Thượng Đức, huyện Đại Lộc, tỉnh Quảng Nam"
    td_2025 = events(web.get("/calendar.ics?year=2025").data)["thuong-duc-1974-08-07.2025@127.0.0.1"]
    assert str(td_2025["LOCATION"]) == \
        "Thượng Đức, huyện Đại Lộc, tỉnh Quảng Nam (nay thuộc thành phố Đà Nẵng)"


def test_the_notable_feed_is_not_empty_in_2027_and_old_addresses_keep_working(web):
    """2027: no directive designates anything, but four dated round anniversaries fall in it
    (Hà Nội – Điện Biên Phủ trên không's 55th has no day: listed in the description)."""
    notable = web.get("/calendar.ics?year=2027&notable=1")
    assert notable.status_code == 200
    check_feed(notable.data)
    assert set(events(notable.data)) == {f"{uid}.2027@127.0.0.1" for uid in (
        "thuong-binh-liet-si-1947-07-27", "nha-giao-viet-nam-1982-11-20",
        "tai-lap-tinh-quang-nam-1997-01-01", "da-nang-truc-thuoc-trung-uong-1997-01-01")}
    assert "Hà Nội - Điện Biên Phủ trên không" in notable.get_data(as_text=True).replace(
        "\r\n ", "")
    assert events(web.get("/calendar.ics?year=2027&designated=1").data) == {}
    assert web.get("/calendar.ics?designated=1").status_code == 200  # old addresses work
    page = web.get("/subscribe").get_data(as_text=True)
    assert "notable=1" in page and "designated=1" not in page


def test_migration_0011_carries_the_old_designations_over_and_back(db_url):
    """A store of the old shape (one directive per year, designations by year) upgrades to
    directives with ids and designations with ordinals, and downgrades back."""
    from alembic import command
    from sqlalchemy import text

    from calendar_service.store import Database
    from calendar_service.store.migrate import alembic_config, upgrade

    db = Database(db_url)
    try:
        upgrade(db.engine, "0010")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO commemorations (id, title, category, origin_year, origin_month, "
                "origin_day, description, source, aliases, status, revision, fingerprint, "
                "created_at, updated_at) VALUES ('dien-bien-phu', 'Chiến thắng Điện Biên Phủ', "
                "'victory', 1954, 5, 7, '-', '-', '[]', 'active', 1, 'x', "
                "'2024-01-01 00:00:00', '2024-01-01 00:00:00')"))
            conn.execute(text("INSERT INTO directives (year, directive, theme) "
                              "VALUES (2024, 'Chỉ thị 2024', 'Chủ đề')"))
            conn.execute(text("INSERT INTO designations (commemoration_id, year) "
                              "VALUES ('dien-bien-phu', 2024), ('dien-bien-phu', 2025)"))
        upgrade(db.engine)
        with db.engine.connect() as conn:
            assert conn.execute(text(
                "SELECT id, year, directive FROM directives ORDER BY id")).all() == [
                ("chi-thi-2024", 2024, "Chỉ thị 2024"), ("chi-thi-2025", 2025, "Chỉ thị năm 2025")]
            assert conn.execute(text(
                "SELECT commemoration_id, directive_id, year, ordinal FROM designations "
                "ORDER BY year")).all() == [("dien-bien-phu", "chi-thi-2024", 2024, 70),
                                            ("dien-bien-phu", "chi-thi-2025", 2025, 71)]
        command.downgrade(alembic_config(db.engine), "0010")
        with db.engine.connect() as conn:
            assert conn.execute(text(
                "SELECT commemoration_id, year FROM designations ORDER BY year")).all() == [
                ("dien-bien-phu", 2024), ("dien-bien-phu", 2025)]
            assert conn.execute(text("SELECT year FROM directives ORDER BY year")).all() == [
                (2024,), (2025,)]
    finally:
        db.dispose()


def test_check_without_paths_reads_what_load_reads(tmp_path, monkeypatch):
    """`check` alone validates CALENDAR_EVENTS (default events/*.toml), with no database."""
    from click.testing import CliRunner

    from calendar_service.cli import main

    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("CALENDAR_DATABASE_URL", f"sqlite:///{tmp_path / 'none.db'}")
    monkeypatch.delenv("CALENDAR_EVENTS", raising=False)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0, result.output
    assert "events/national.toml: 29 commemorations (a standing list): OK" in result.output
    assert "events/quang-nam.toml: 8 commemorations (a standing list), 3 renames: OK" \
        in result.output
    assert "events/2024.toml: 12 commemorations defined, 12 designated for 2024: OK" \
        in result.output
    assert not (tmp_path / "none.db").exists()


def test_reminder_mail_names_the_directive_and_todays_place(all_loaded, cli, tmp_path):
    import email
    from email import policy

    assert cli("subscribers", "add", "bien.tap@example.org", "--name", "Ban biên tập",
               "--categories", "victory,national-day", "--scope", "all").exit_code == 0
    result = cli("remind", "--as-of", "2025-08-26T08:00:00+07:00")
    assert result.exit_code == 0, result.output
    outbox = sorted((tmp_path / "outbox").glob("*.eml"))
    texts = {}
    for path in outbox:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        texts[str(message["Subject"])] = message.get_body(("plain",)).get_content()
    (qk,) = [t for s, t in texts.items() if "Quốc khánh" in s]
    assert "Theo chỉ thị: Chỉ thị năm 2025: Chỉ thị thử nghiệm về các ngày kỷ niệm năm 2025 " \
           "(kỷ niệm 80 năm)." in qk
    assert cli("remind", "--as-of", "2025-07-31T08:00:00+07:00").exit_code == 0
    thuong_duc = [p for p in sorted((tmp_path / "outbox").glob("*.eml")) if p not in outbox]
    bodies = [email.message_from_bytes(p.read_bytes(), policy=policy.default)
              .get_body(("plain",)).get_content() for p in thuong_duc]
    assert any("Địa điểm: Thượng Đức, huyện Đại Lộc, tỉnh Quảng Nam (nay thuộc thành phố Đà "
               "Nẵng)" in b for b in bodies), bodies


def test_the_plan_pages_show_an_agencys_name_today(all_loaded, cli):
    """The agencies keep the names the 2024 directive gives them; the plan grid shows what
    they are today (the renames of events/quang-nam.toml, as of 27/11/2026)."""
    from html import unescape

    from calendar_service.admin import accounts
    from tests.test_admin import PASSWORD, Browser, make_app

    assert cli("plans", "generate", "--year", "2025").exit_code == 0
    with all_loaded.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, all_loaded.clock.now())
    browser = Browser(make_app(all_loaded))
    assert browser.login("admin").status_code == 302
    page = unescape(browser.text("/admin/plans/2025"))
    assert 'title="Báo Quảng Nam (nay thuộc Báo và Phát thanh, Truyền hình Đà Nẵng)"' in page
    assert 'title="Sở Thông tin và Truyền thông (nay thuộc Sở Khoa học và Công nghệ)"' in page
