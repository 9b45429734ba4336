"""The web app through Flask's client, and `calendar-service serve` over real HTTP."""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests

from calendar_service.app import create_app
from calendar_service.app_context import Services
from calendar_service.reminders.confirmations import ConfirmationMailer
from calendar_service.store import Database
from tests.conftest import ROOT, make_settings


def test_healthz_when_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path, clock):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2"
    app = create_app(Services(make_settings(url, tmp_path), clock=clock, _database=Database(url)))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body == {"status": "unavailable", "database": "does not answer"}  # no host names


def test_home_lists_upcoming_with_vietnamese_dates(client):
    page = client.get("/?from=2024-04-20").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Kỷ niệm 120 năm Ngày sinh đồng chí Trần Phú" in page
    assert "Thứ Ba, 07/5/2024" in page
    assert "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ" in page


def test_the_subscribe_page_shows_the_feed_links(client):
    page = client.get("/subscribe").get_data(as_text=True)
    assert 'href="webcal://127.0.0.1:5000/calendar.ics"' in page
    assert "http://127.0.0.1:5000/calendar.ics" in page
    assert "calendar.google.com/calendar/render?cid=webcal" in page


def test_home_counts_down_from_the_clock(client):
    page = client.get("/").get_data(as_text=True)  # the clock says 2026-11-27
    assert "Kỷ niệm 82 năm Ngày thành lập Quân đội nhân dân Việt Nam" in page
    assert "còn 25 ngày" in page


@pytest.mark.parametrize("value", ["2024-13-01", "yesterday", "2024-5-7"])
def test_a_bad_from_is_a_400_with_a_message(client, value):
    response = client.get(f"/?from={value}")
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "YYYY-MM-DD" in page and '<html lang="vi">' in page


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_over_real_http(tmp_path):
    db = f"sqlite:///{tmp_path / 'serve.db'}"
    env = {**os.environ, "CALENDAR_DATABASE_URL": db,
           "CALENDAR_EVENTS": str(ROOT / "events" / "2024.toml")}
    for args in (["db", "upgrade"], ["load"]):
        subprocess.run([sys.executable, "-m", "calendar_service", *args], env=env, check=True,
                       cwd=tmp_path, capture_output=True, timeout=60)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "calendar_service", "serve", "--port", str(port)],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError(server.stdout.read().decode() if server.poll() is not None
                                         else "server did not start")
                time.sleep(0.1)
        assert health.status_code == 200 and health.json()["database"] == "ok"
        home = requests.get(f"http://127.0.0.1:{port}/?from=2024-05-01", timeout=5)
        assert home.status_code == 200
        assert home.headers["Content-Type"].startswith("text/html")
        assert "Chiến thắng Điện Biên Phủ" in home.text
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_sign_up_form_sends_one_confirmation_per_address_per_cooldown(client, loaded,
                                                                         tmp_path):
    outbox = tmp_path / "outbox"

    def sign_up(email: str) -> None:
        page = client.get("/subscribe").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = client.post("/subscribe", data={
            "csrf_token": token, "email": email, "scope": "notable"})
        assert response.status_code == 302 and response.location.endswith("/subscribe/sent")
        loaded.shared(ConfirmationMailer).wait()  # sent off the request thread

    sign_up("editor@example.org")
    sign_up("editor@example.org")  # re-posted at once: the same page, no second e-mail
    sign_up("other@example.org")
    assert len(list(outbox.glob("*.eml"))) == 2
    loaded.clock.at += timedelta(minutes=11)
    sign_up("editor@example.org")  # after the cooldown: asked again
    mails = [m.read_bytes() for m in outbox.glob("*.eml")]
    assert len(mails) == 3 and sum(b"To: editor@example.org" in m for m in mails) == 2
    # The link in it is signed and checked on the service's clock: a week, then it expires.
    link = re.search(rb"/subscribe/confirm/[A-Za-z0-9_.\-]+", base64.b64decode(
        max(mails, key=len).split(b"\r\n\r\n", 1)[1])).group(0).decode()
    assert client.get(link).status_code == 200
    loaded.clock.at += timedelta(days=8)
    assert client.get(link).status_code == 404
