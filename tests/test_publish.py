"""Feeds published as static files (`feed publish`), and a feed request that never waits on a
long build: the last good bytes while a build runs, the published file in a fresh process."""

from __future__ import annotations

import gzip
import html
import json
import os
import re
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from icalendar import Calendar

from calendar_service.app import create_app
from calendar_service.app_context import Services
from calendar_service.catalogue import Catalogue, load_catalogue
from calendar_service.feeds.ical import FeedSite, build_calendar, event_component
from calendar_service.feeds.publish import Publisher, last_publish, publish, publish_job
from calendar_service.feeds.query import FeedQuery
from calendar_service.feeds.static import feed_file
from calendar_service.reminders.scheduler import make_scheduler
from calendar_service.store import stored_occurrences_between, sync_catalogue
from tests.conftest import NOW, make_settings
from tests.ical_checks import check_feed, events


def with_settings(services: Services, tmp_path, **extra) -> Services:
    """Another process's services over the same database (its own caches)."""
    return Services(make_settings(services.settings.database_url, tmp_path, **extra),
                    clock=services.clock)


def text_of(data: bytes) -> str:
    return data.decode().replace("\r\n ", "")  # unfolded


@pytest.fixture
def feeds_dir(tmp_path):
    return tmp_path / "feeds"


def edit_dien_bien_phu(services, events_2024, text: str, days: int = 1):
    catalogue = load_catalogue([events_2024])
    with services.database.session() as session:
        sync_catalogue(session, Catalogue(catalogue.files, tuple(
            replace(c, description=text) if c.id == "dien-bien-phu" else c
            for c in catalogue.commemorations)), NOW + timedelta(days=days))


def test_a_feed_is_its_header_and_its_events_bytes_one_after_the_other(loaded):
    """The concatenation build.py does gives the bytes icalendar gives for the whole."""
    site = FeedSite.from_settings(loaded.settings)
    query = FeedQuery(alarm_days=3)
    window = query.window(NOW.date(), 365, 730)
    with loaded.database.session() as session:
        items = stored_occurrences_between(session, *window, include_cancelled=True)
    whole = Calendar.from_ical(build_calendar(items, query, site, window))
    for prop in list(whole.subcomponents):
        whole.subcomponents.remove(prop)
    for occ, stored in items:
        if occ.date is not None:
            whole.add_component(event_component(occ, stored, site, 3))
    assert build_calendar(items, query, site, window) == whole.to_ical()


def test_publish_writes_every_linked_feed_as_the_app_serves_it(loaded, client, feeds_dir, cli):
    result = cli("feed", "publish", str(feeds_dir))
    assert result.exit_code == 0, result.output
    assert "published" in result.output
    names = sorted(str(p.relative_to(feeds_dir)) for p in feeds_dir.rglob("*.ics"))
    # The subscribe page's links, the year pages' (rolling window and designated years),
    # and one file per commemoration with a next dated occurrence.
    page = html.unescape(client.get("/subscribe").get_data(as_text=True)
                         + client.get("/year/2024").get_data(as_text=True))
    linked = set(re.findall(r'calendar\.ics\?([^"<\s]+)"', page))
    assert len(linked) >= 7  # designated, five categories, the year
    for args in linked:
        assert f"calendar/{args}.ics" in names, args
    assert "calendar.ics" in names
    assert {"calendar/year=2024.ics", "calendar/year=2025.ics", "calendar/year=2028.ics",
            "calendar/designated=1.ics", "calendar/category=victory.ics"} <= set(names)
    assert "events/dien-bien-phu.ics" in names
    assert "events/huynh-ngoc-hue.ics" not in names  # no day known: no file, the app's 404
    for name in names:
        url = "/calendar.ics" if name == "calendar.ics" else (
            f"/calendar.ics?{name[len('calendar/'):-4]}" if name.startswith("calendar/")
            else f"/{name}")
        body = (feeds_dir / name).read_bytes()
        assert body == client.get(url).data, name
        assert gzip.decompress((feeds_dir / f"{name}.gz").read_bytes()) == body
        assert (feeds_dir / name).stat().st_mode & 0o777 == 0o644
    check_feed((feeds_dir / "calendar.ics").read_bytes())
    status = last_publish(feeds_dir)
    assert status.ok and status.files == len(names) and status.written == len(names)
    assert status.bytes == sum((feeds_dir / n).stat().st_size for n in names)
    assert not list(feeds_dir.rglob("*.tmp"))


def test_a_publish_rewrites_only_what_changed_and_removes_what_went(loaded, feeds_dir,
                                                                    events_2024):
    first = publish(loaded, feeds_dir)
    assert first.ok
    stamps = {p: p.stat().st_mtime_ns for p in feeds_dir.rglob("*.ics*")}
    os.utime(feeds_dir / "calendar.ics", ns=(1, 1))  # what nginx's ETag is made of, kept
    stamps[feeds_dir / "calendar.ics"] = 1
    again = publish(loaded, feeds_dir)
    assert (again.written, again.removed, again.files) == (0, 0, first.files)
    assert {p: p.stat().st_mtime_ns for p in feeds_dir.rglob("*.ics*")} == stamps

    edit_dien_bien_phu(loaded, events_2024, "Mô tả mới.")
    catalogue = load_catalogue([events_2024])
    with loaded.database.session() as session:  # thuong-duc leaves the catalogue
        sync_catalogue(session, Catalogue(catalogue.files, tuple(
            replace(c, description="Mô tả mới.") if c.id == "dien-bien-phu" else c
            for c in catalogue.commemorations if c.id != "thuong-duc")), NOW + timedelta(days=2))
    changed = publish(loaded, feeds_dir)
    assert changed.removed == 1 and not (feeds_dir / "events/thuong-duc.ics").exists()
    assert not (feeds_dir / "events/thuong-duc.ics.gz").exists()
    assert "Mô tả mới." in events((feeds_dir / "events/dien-bien-phu.ics").read_bytes())[
        "dien-bien-phu-1954-05-07.2027@127.0.0.1"]["DESCRIPTION"]
    # Files of other categories than the edited ones' kept their bytes and their mtime.
    untouched = feeds_dir / "calendar/category=birth-anniversary.ics"
    assert untouched.stat().st_mtime_ns == stamps[untouched]
    assert changed.written < changed.files


def test_publish_leaves_other_files_alone_and_says_what_failed(loaded, feeds_dir, cli):
    feeds_dir.mkdir()
    (feeds_dir / "robots.txt").write_text("keep me")
    assert publish(loaded, feeds_dir).ok
    assert (feeds_dir / "robots.txt").read_text() == "keep me"
    blocked = feeds_dir / "plain-file"
    blocked.write_text("not a directory")
    result = cli("feed", "publish", str(blocked / "feeds"))
    assert result.exit_code == 1 and "failed" in result.output


def test_publish_goes_to_the_home_by_default_and_is_a_heartbeat(cli, loaded):
    from calendar_service.store import heartbeat

    result = cli("feed", "publish")
    assert result.exit_code == 0, result.output
    home_feeds = loaded.settings.home / "feeds"
    assert loaded.settings.feeds_dir == home_feeds and str(home_feeds) in result.output
    assert (home_feeds / "calendar.ics").is_file()
    with loaded.database.session() as session:
        beat = heartbeat.read(session, "publish")
    assert beat.ok and beat.detail["files"] == last_publish(home_feeds).files
    assert beat.detail["bytes"] > 0 and not beat.running


def test_the_scheduler_publishes_when_the_data_or_the_day_changes(loaded, tmp_path, feeds_dir,
                                                                  events_2024):
    services = with_settings(loaded, tmp_path, CALENDAR_PUBLISH_DIR=str(feeds_dir))
    jobs = {job.id: job for job in make_scheduler(services).get_jobs()}
    assert jobs["publish"].func is publish_job  # beside the tick, in its own thread
    assert jobs["publish"].trigger.interval == jobs["reminders"].trigger.interval
    publish_job(services)
    first = last_publish(feeds_dir)
    assert first.ok and first.written == first.files
    publish_job(services)
    assert last_publish(feeds_dir).started_at == first.started_at  # nothing changed: no run
    edit_dien_bien_phu(services, events_2024, "Sửa trong lúc chạy.")
    publish_job(services)
    assert "Sửa trong lúc chạy." in text_of((feeds_dir / "calendar/year=2024.ics").read_bytes())
    services.clock.at = NOW + timedelta(days=1)  # a new day: the rolling window moved
    publish_job(services)
    rolled = last_publish(feeds_dir)
    assert rolled.started_at != first.started_at and rolled.written >= 1


def test_an_admin_edit_republishes_in_the_background(loaded, tmp_path, feeds_dir):
    services = with_settings(loaded, tmp_path, CALENDAR_PUBLISH_DIR=str(feeds_dir))
    publisher = services.shared(Publisher)
    publisher.soon()
    publisher.soon()  # while one runs: one more after it, not a pile
    deadline = time.monotonic() + 60
    while (publisher._running or not (feeds_dir / "calendar.ics").exists()) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (feeds_dir / "calendar.ics").exists() and not publisher._running


def test_a_load_publishes(cli, loaded, tmp_path, feeds_dir, events_2024):
    from tests.conftest import Cli

    services = with_settings(loaded, tmp_path, CALENDAR_PUBLISH_DIR=str(feeds_dir))
    changed = tmp_path / "2024.toml"
    changed.write_text(events_2024.read_text().replace(
        "chiến dịch Điện Biên Phủ toàn thắng", "chiến dịch Điện Biên Phủ (sửa) toàn thắng"))
    result = Cli(services)("load", str(changed))
    assert result.exit_code == 0, result.output
    assert "(sửa)" in text_of((feeds_dir / "calendar/year=2024.ics").read_bytes())


def fresh_app(loaded, tmp_path, **extra):
    services = with_settings(loaded, tmp_path, CALENDAR_FEED_BUILD_WAIT_SECONDS="0", **extra)
    app = create_app(services)
    app.testing = True
    return services, app.test_client()


def wait_for(client, url, predicate, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response = client.get(url)
        if predicate(response):
            return response
        time.sleep(0.05)
    raise AssertionError(f"{url}: not within {seconds} s")


def test_a_request_during_a_rebuild_gets_the_previous_bytes(loaded, tmp_path, events_2024):
    _, client = fresh_app(loaded, tmp_path)
    url = "/calendar.ics?year=2024"
    old = wait_for(client, url, lambda r: r.status_code == 200)
    edit_dien_bien_phu(loaded, events_2024, "Bản sửa mới.")
    during = client.get(url)  # waits 0 s for the rebuild it starts
    assert during.status_code == 200 and during.data == old.data
    assert during.headers["ETag"] == old.headers["ETag"]
    new = wait_for(client, url, lambda r: r.data != old.data)
    assert "Bản sửa mới." in text_of(new.data)
    check_feed(new.data)


def test_nothing_built_and_nothing_published_is_a_503_with_retry_after(loaded, tmp_path):
    _, client = fresh_app(loaded, tmp_path)
    first = client.get("/calendar.ics?category=founding")
    assert first.status_code == 503 and first.headers["Retry-After"] == "5"
    assert "thử lại" in first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == "no-store"
    assert wait_for(client, "/calendar.ics?category=founding",
                    lambda r: r.status_code == 200).data.startswith(b"BEGIN:VCALENDAR")


def test_a_fresh_process_answers_at_once_with_the_published_bytes(loaded, tmp_path, feeds_dir,
                                                                  events_2024):
    assert publish(loaded, feeds_dir).ok
    published = (feeds_dir / feed_file(FeedQuery(year=2024))).read_bytes()
    edit_dien_bien_phu(loaded, events_2024, "Chưa xuất bản.")
    _, client = fresh_app(loaded, tmp_path, CALENDAR_PUBLISH_DIR=str(feeds_dir))
    first = client.get("/calendar.ics?year=2024", headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200 and gzip.decompress(first.data) == published
    # Sent from the file as it is: nothing read whole, hashed or compressed meanwhile.
    assert first.headers["Content-Encoding"] == "gzip"
    assert first.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    newer = wait_for(client, "/calendar.ics?year=2024", lambda r: r.data != published)
    assert "Chưa xuất bản." in text_of(newer.data)


def test_the_publish_status_is_json_beside_the_feeds(loaded, feeds_dir):
    report = publish(loaded, feeds_dir)
    recorded = json.loads((feeds_dir / ".publish.json").read_text())
    assert recorded["ok"] is True and recorded["files"] == report.files
    assert recorded["started_at"] == NOW.isoformat(timespec="seconds")
