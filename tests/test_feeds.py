"""The iCalendar feed: correct to the byte, stable, in sync with changes, cheap to revalidate."""

from __future__ import annotations

import gzip
import subprocess
import textwrap
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from werkzeug.http import http_date

from calendar_service.app import create_app
from calendar_service.app_context import Services
from calendar_service.catalogue import Catalogue, load_catalogue
from calendar_service.clock import FixedClock
from calendar_service.store import sync_catalogue
from tests.conftest import NOW
from tests.ical_checks import check_feed, events

HOST = "127.0.0.1"
DBP_UID = f"dien-bien-phu-1954-05-07.2024@{HOST}"


def get(client, url="/calendar.ics?year=2024", **headers):
    return client.get(url, headers=headers)


def resync(services, catalogue: Catalogue, at: datetime):
    with services.database.session() as session:
        return sync_catalogue(session, catalogue, at)


def test_the_2024_feed_is_valid_and_complete(client):
    response = get(client)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'inline; filename="lich-ky-niem-2024.ics"'
    cal = check_feed(response.data)
    for prop in ("VERSION", "PRODID", "CALSCALE", "NAME", "X-WR-CALNAME", "DESCRIPTION",
                 "X-WR-CALDESC", "X-WR-TIMEZONE", "REFRESH-INTERVAL", "X-PUBLISHED-TTL", "UID"):
        header = response.data.split(b"BEGIN:VEVENT")[0]
        assert header.count(f"\r\n{prop}".encode()) == 1, prop
    assert b"METHOD" not in response.data and b"VALARM" not in response.data
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Ho_Chi_Minh"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT6H" in response.data
    assert b"X-PUBLISHED-TTL:PT6H" in response.data
    found = events(response.data)
    assert len(found) == 11  # the twelve, less Huỳnh Ngọc Huệ whose day is not decided
    assert not any("huynh-ngoc-hue" in uid for uid in found)
    assert "Huỳnh Ngọc Huệ" in str(cal["DESCRIPTION"]) and "Chưa xác định ngày" in str(
        cal["DESCRIPTION"])


def test_dien_bien_phu_event_in_detail(client, loaded):
    event = events(get(client).data)[DBP_UID]
    assert str(event["SUMMARY"]) == "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ (07/5/1954 – 07/5/2024)"
    assert event["DTSTART"].dt == date(2024, 5, 7) and event["DTEND"].dt == date(2024, 5, 8)
    assert event["DTSTAMP"].dt == event["LAST-MODIFIED"].dt == NOW.astimezone(timezone.utc)
    assert (str(event["TRANSP"]), str(event["STATUS"]), str(event["CLASS"])) == (
        "TRANSPARENT", "CONFIRMED", "PUBLIC")
    assert int(event["SEQUENCE"]) == 1
    assert str(event["URL"]) == "http://127.0.0.1:5000/events/dien-bien-phu"
    assert str(event["LOCATION"]) == "Điện Biên Phủ, tỉnh Điện Biên"
    assert [str(c) for c in event["CATEGORIES"].cats] == ["Chiến thắng", "Theo chỉ thị", "Chỉ thị năm 2024", "Năm tròn"]
    description = str(event["DESCRIPTION"])
    assert "mục I.7" in description and "http://127.0.0.1:5000/events/dien-bien-phu" in description


def test_a_chosen_observance_day_is_an_event_that_says_so(client):
    event = events(get(client).data)[f"me-nguyen-thi-thu-1904.2024@{HOST}"]
    assert event["DTSTART"].dt == date(2024, 7, 27)
    assert str(event["SUMMARY"]).endswith("Nguyễn Thị Thứ (1904 – 2024)")
    assert "Ngày tổ chức kỷ niệm năm 2024: 27/7/2024" in str(event["DESCRIPTION"])


def test_same_bytes_across_builds_and_restarts(loaded, client):
    first = get(client)
    again = get(client)
    restarted = create_app(Services(loaded.settings, clock=FixedClock(NOW + timedelta(hours=3)),
                                    _database=None)).test_client()
    third = get(restarted)
    assert first.data == again.data == third.data
    assert first.headers["ETag"] == third.headers["ETag"]


def test_the_default_window_rolls_with_the_clock(client):
    found = events(get(client, "/calendar.ics").data)  # the clock says 2026-11-27
    years = {uid.split("@")[0].rsplit(".", 1)[1] for uid in found}
    assert years == {"2025", "2026", "2027", "2028"}
    assert f"dien-bien-phu-1954-05-07.2027@{HOST}" in found
    assert f"dien-bien-phu-1954-05-07.2025@{HOST}" not in found  # 07/5/2025 is before the window
    assert f"quan-doi-nhan-dan-viet-nam-1944-12-22.2025@{HOST}" in found


@pytest.mark.parametrize("query, expected", [
    ("category=victory", {"dien-bien-phu", "thuong-duc"}),
    ("category=victory,founding", {"dien-bien-phu", "thuong-duc", "quan-doi-nhan-dan-viet-nam"}),
    ("designated=1&round=1&category=national-day", {"quoc-phong-toan-dan"}),
])
def test_filters(client, query, expected):
    found = events(get(client, f"/calendar.ics?year=2024&{query}").data)
    assert {str(e["URL"]).rsplit("/", 1)[1] for e in found.values()} == expected


def test_round_and_designated_filters_outside_2024(client):
    found = events(get(client, "/calendar.ics?year=2029&round=1").data)
    assert f"dien-bien-phu-1954-05-07.2029@{HOST}" in found  # 75th
    assert all("Năm" in " ".join(str(c) for c in e["CATEGORIES"].cats) for e in found.values())
    assert events(get(client, "/calendar.ics?year=2029&designated=1").data) == {}


@pytest.mark.parametrize("query", ["category=nope", "year=abc", "year=99999", "designated=maybe",
                                   "alarm=-1", "alarm=400", "round=2"])
def test_bad_parameters_are_400_with_a_plain_message(client, query):
    response = get(client, f"/calendar.ics?{query}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert query.split("=")[0] in response.get_data(as_text=True)


def test_alarm_on_request(client):
    response = get(client, "/calendar.ics?year=2024&alarm=7")
    check_feed(response.data)
    event = events(response.data)[DBP_UID]
    (alarm,) = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY" and alarm["TRIGGER"].dt == -timedelta(days=7)


def test_an_edit_raises_sequence_and_last_modified_and_changes_the_etag(client, loaded,
                                                                         events_2024):
    before = get(client)
    catalogue = load_catalogue([events_2024])
    later = NOW + timedelta(days=2)
    resync(loaded, Catalogue(catalogue.files, tuple(
        replace(c, description="Mô tả đã sửa.") if c.id == "dien-bien-phu" else c
        for c in catalogue.commemorations)), later)
    after = get(client)
    old, new = events(before.data)[DBP_UID], events(after.data)[DBP_UID]
    assert int(new["SEQUENCE"]) == int(old["SEQUENCE"]) + 1
    assert new["LAST-MODIFIED"].dt > old["LAST-MODIFIED"].dt
    assert after.headers["ETag"] != before.headers["ETag"]
    assert get(client, If_None_Match=before.headers["ETag"]).status_code == 200
    assert get(client, If_None_Match=after.headers["ETag"]).status_code == 304
    check_feed(after.data)


def test_setting_an_observance_day_puts_the_occurrence_in_the_feed(client, loaded, events_2024):
    uid = f"huynh-ngoc-hue-1914.2024@{HOST}"
    assert uid not in events(get(client).data)
    catalogue = load_catalogue([events_2024])
    resync(loaded, Catalogue(catalogue.files, tuple(
        replace(c, observances=((2024, date(2024, 8, 9)),)) if c.id == "huynh-ngoc-hue" else c
        for c in catalogue.commemorations)), NOW + timedelta(days=1))
    response = get(client)
    check_feed(response.data)
    event = events(response.data)[uid]
    assert event["DTSTART"].dt == date(2024, 8, 9) and int(event["SEQUENCE"]) == 2
    assert "Huỳnh Ngọc Huệ" not in str(Calendar.from_ical(response.data)["DESCRIPTION"])


def test_a_removed_commemoration_is_cancelled_in_the_feed(client, loaded, events_2024):
    catalogue = load_catalogue([events_2024])
    resync(loaded, Catalogue(catalogue.files, tuple(
        c for c in catalogue.commemorations if c.id != "thuong-duc")), NOW + timedelta(days=1))
    data = get(client).data
    check_feed(data)
    event = events(data)[f"thuong-duc-1974-08-07.2024@{HOST}"]
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) == 2


def test_conditional_requests(client):
    first = get(client)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    hit = get(client, If_None_Match=etag)
    assert hit.status_code == 304 and hit.data == b"" and hit.headers["ETag"] == etag
    assert get(client, If_None_Match=f'"other", {etag}').status_code == 304
    assert get(client, If_None_Match=f"W/{etag}").status_code == 304
    # If-None-Match decides alone when present, even with a fresh If-Modified-Since.
    assert get(client, If_None_Match='"other"', If_Modified_Since=modified).status_code == 200
    assert get(client, If_Modified_Since=modified).status_code == 304
    older = http_date(NOW - timedelta(days=1))
    assert get(client, If_Modified_Since=older).status_code == 200
    assert get(client, If_Modified_Since="not a date").status_code == 200
    assert first.headers["Cache-Control"].startswith("public, max-age=")


def test_head_and_gzip(client):
    plain = get(client)
    head = client.head("/calendar.ics?year=2024")
    assert head.status_code == 200 and head.data == b""
    assert head.headers["ETag"] == plain.headers["ETag"]
    zipped = get(client, Accept_Encoding="gzip, deflate")
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert zipped.headers["Vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert get(client, If_None_Match=zipped.headers["ETag"],
               Accept_Encoding="gzip").status_code == 304


def test_a_warm_request_does_no_icalendar_work(client, monkeypatch):
    from calendar_service.feeds import service

    calls = []
    real = service.build_calendar
    monkeypatch.setattr(service, "build_calendar", lambda *a, **k: calls.append(1) or real(*a, **k))
    get(client, "/calendar.ics?year=2023")
    get(client, "/calendar.ics?year=2023")
    get(client, "/calendar.ics?year=2023", If_None_Match='"x"')
    assert len(calls) == 1


def test_the_feed_command_writes_the_same_bytes(cli, loaded, client, tmp_path):
    target = tmp_path / "lich.ics"
    result = cli("feed", "--year", "2024", "-o", str(target))
    assert result.exit_code == 0
    assert target.read_bytes() == get(client).data
    stdout = cli("feed", "--category", "victory")
    assert stdout.stdout_bytes == get(client, "/calendar.ics?category=victory").data


def test_one_event_download(client):
    response = client.get("/events/dien-bien-phu.ics")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == \
        'attachment; filename="dien-bien-phu-2027.ics"'
    (event,) = events(check_feed(response.data).to_ical()).values()
    assert event["DTSTART"].dt == date(2027, 5, 7)
    assert str(event["SUMMARY"]).startswith("Kỷ niệm 73 năm Chiến thắng Điện Biên Phủ")
    assert client.get("/events/nope.ics").status_code == 404
    assert client.get("/events/huynh-ngoc-hue.ics").status_code == 404


def test_khal_imports_the_feed(client, tmp_path):
    """khal, a real calendar client, reads the feed and shows the 2024-05-07 occurrence."""
    feed = tmp_path / "feed.ics"
    feed.write_bytes(get(client).data)
    (tmp_path / "cal").mkdir()
    config = tmp_path / "khal.conf"
    config.write_text(textwrap.dedent(f"""\
        [calendars]
        [[kyniem]]
        path = {tmp_path / 'cal'}
        type = calendar
        [locale]
        timeformat = %H:%M
        dateformat = %Y-%m-%d
        longdateformat = %Y-%m-%d
        datetimeformat = %Y-%m-%d %H:%M
        longdatetimeformat = %Y-%m-%d %H:%M
        default_timezone = Asia/Ho_Chi_Minh
        local_timezone = Asia/Ho_Chi_Minh
        """))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path)}
    import shutil
    import sys
    from pathlib import Path

    khal = str(Path(sys.executable).parent / "khal")
    assert shutil.which(khal), "khal is installed with the test extra"
    imported = subprocess.run([khal, "-c", str(config), "import", "--batch", "-a", "kyniem",
                               str(feed)], env=env, capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr
    listed = subprocess.run([khal, "-c", str(config), "list", "--format",
                             "{start-date}|{end-date}|{title}", "2024-05-07", "1d"],
                            env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    lines = [line for line in listed.stdout.splitlines() if "|" in line]
    assert lines == ["2024-05-07|2024-05-07|"
                     "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ (07/5/1954 – 07/5/2024)"]


def test_the_feed_cache_is_bounded_by_size(loaded):
    from calendar_service.feeds.query import FeedQuery
    from calendar_service.feeds.service import FeedCache

    cache = FeedCache(loaded, max_bytes=1)  # every feed is bigger: keep only the newest
    first = cache.get(FeedQuery(year=2024))
    cache.get(FeedQuery(year=2025))
    assert len(cache._entries) == 1
    assert cache.get(FeedQuery(year=2024)) is not first  # evicted, built again
