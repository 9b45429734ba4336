"""Issue 11, items 1 and 4: the rate limits, on (as in production), through Flask's client and
over real HTTP — sign-up per client and for the whole site, login per client and per user
name, the Vietnamese 429 page with Retry-After, the client's address behind a trusted proxy
only, no sleeping worker, and counters shared through Redis by two server processes."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import threading
import time
import uuid

import pytest
import requests

from calendar_service.admin import accounts
from calendar_service.app import create_app
from calendar_service.app_context import Services
from calendar_service.reminders.confirmations import ConfirmationMailer
from tests.conftest import ROOT, make_settings
from tests.live import LiveServer
from tests.test_admin import PASSWORD, Browser

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REDIS_URL = os.environ.get("CALENDAR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def token_of(client, page: str) -> str:
    return TOKEN.search(client.get(page).get_data(as_text=True)).group(1)


def sign_up(client, token: str, email: str, address: str = "198.51.100.7"):
    return client.post("/subscribe", data={"csrf_token": token, "email": email,
                                           "scope": "notable"},
                       environ_base={"REMOTE_ADDR": address})


def assert_vietnamese_429(response, says: str) -> None:
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Quá nhiều yêu cầu" in page and says in page and '<html lang="vi">' in page
    assert 0 < int(response.headers["Retry-After"]) <= 24 * 3600


# --- Sign-up -----------------------------------------------------------------------------

def test_one_client_cannot_fire_a_hundred_confirmation_mails(client, loaded, tmp_path):
    token = token_of(client, "/subscribe")
    started = time.monotonic()
    answers = [sign_up(client, token, f"victim+{i}@example.com") for i in range(100)]
    assert time.monotonic() - started < 10
    assert [a.status_code for a in answers[:5]] == [302] * 5
    for answer in answers[5:]:
        assert_vietnamese_429(answer, "Bạn đã gửi biểu mẫu đăng ký nhiều lần")
    loaded.shared(ConfirmationMailer).wait()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 5
    # Another client is not held back by this one.
    assert sign_up(client, token, "editor@example.org", "203.0.113.9").status_code == 302


def test_the_whole_site_takes_at_most_200_sign_ups_an_hour(client, loaded, tmp_path):
    token = token_of(client, "/subscribe")
    for i in range(200):  # 200 clients, one sign-up each
        answer = sign_up(client, token, f"editor{i}@example.org", f"10.0.{i // 250}.{i % 250}")
        assert answer.status_code == 302, i
    assert_vietnamese_429(sign_up(client, token, "late@example.org", "10.9.9.9"),
                          "Hệ thống đang nhận quá nhiều yêu cầu đăng ký")
    loaded.shared(ConfirmationMailer).wait()
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 200


def test_a_refused_form_does_not_count_towards_the_site_limit(client, loaded):
    token = token_of(client, "/subscribe")
    for i in range(250):  # malformed: 400, never counted globally (but per client: 5)
        address = f"10.1.{i // 250}.{i % 250}"
        assert sign_up(client, token, "not an address", address).status_code == 400
    assert sign_up(client, token, "editor@example.org", "10.2.0.1").status_code == 302


# --- Login -------------------------------------------------------------------------------

@pytest.fixture
def admin_app(loaded):
    with loaded.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, loaded.clock.now())
    app = create_app(loaded)
    app.testing = True
    return app


def login(client, token: str, name: str, password: str, address: str = "198.51.100.7"):
    return client.post("/admin/login", data={"csrf_token": token, "username": name,
                                             "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_login_is_limited_per_client(admin_app):
    client = admin_app.test_client()
    token = token_of(client, "/admin/login")
    names = [f"user{i}" for i in range(11)]  # a spray: another name each time
    answers = [login(client, token, name, "Password123!") for name in names]
    assert [a.status_code for a in answers[:10]] == [200] * 10
    assert_vietnamese_429(answers[10], "Quá nhiều lần đăng nhập từ máy này")
    # Even the right password waits: the limit is on the client, before any check.
    assert login(client, token, "admin", PASSWORD).status_code == 429
    assert client.get("/admin/login").status_code == 200  # reading the page is not limited
    assert login(client, token, "admin", PASSWORD, "203.0.113.9").status_code == 302


def test_failed_logins_are_limited_per_user_name_from_anywhere(admin_app):
    """Unknown names never lock; the per-name limit still stops guessing at one."""
    client = admin_app.test_client()
    token = token_of(client, "/admin/login")
    for i in range(10):  # ten clients, one wrong guess each, at a name that does not exist
        assert login(client, token, "Ghost", f"guess {i}", f"10.3.0.{i}").status_code == 200
    assert_vietnamese_429(login(client, token, "ghost ", "guess 11", "10.3.1.1"),
                          "Tên đăng nhập này vừa bị thử sai quá nhiều lần")
    # Another name is not held back, nor a success counted.
    assert login(client, token, "admin", PASSWORD, "10.3.1.2").status_code == 302


def test_the_limits_can_be_switched_off_by_a_test_only(admin_app):
    admin_app.config["RATELIMIT_ENABLED"] = False
    client = admin_app.test_client()
    token = token_of(client, "/admin/login")
    assert all(login(client, token, f"u{i}", "x").status_code == 200 for i in range(30))
    from calendar_service.config import DEFAULTS

    assert not [name for name in DEFAULTS if "RATELIMIT" in name and "STORAGE" not in name]


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(admin_app, loaded, database,
                                                              db_url, tmp_path):
    client = admin_app.test_client()
    token = token_of(client, "/admin/login")
    for i in range(10):
        login(client, token, f"u{i}", "x")
    spoofed = client.post("/admin/login", data={"csrf_token": token, "username": "u",
                                                "password": "x"},
                          environ_base={"REMOTE_ADDR": "198.51.100.7"},
                          headers={"X-Forwarded-For": "192.0.2.55"})
    assert spoofed.status_code == 429  # a header cannot buy a fresh allowance

    behind = Services(make_settings(db_url, tmp_path, CALENDAR_TRUSTED_PROXIES="1"),
                      clock=loaded.clock, _database=database)
    proxied = create_app(behind)
    client = proxied.test_client()
    token = token_of(client, "/admin/login")
    for i in range(10):
        assert client.post("/admin/login", data={"csrf_token": token, "username": f"u{i}",
                                                 "password": "x"},
                           environ_base={"REMOTE_ADDR": "127.0.0.1"},
                           headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 200
    # The proxy tells another client: its own allowance.
    other = client.post("/admin/login", data={"csrf_token": token, "username": "v",
                                              "password": "x"},
                        environ_base={"REMOTE_ADDR": "127.0.0.1"},
                        headers={"X-Forwarded-For": "192.0.2.2"})
    assert other.status_code == 200


def test_ipv6_clients_are_counted_per_64(admin_app):
    client = admin_app.test_client()
    token = token_of(client, "/admin/login")
    for i in range(10):
        login(client, token, f"u{i}", "x", f"2001:db8:1:2::{i + 1:x}")
    assert login(client, token, "u", "x", "2001:db8:1:2:ffff::1").status_code == 429
    assert login(client, token, "u", "x", "2001:db8:1:3::1").status_code == 200


def test_wrong_passwords_from_16_clients_do_not_slow_the_site(loaded):
    """Item 4: no failed login sleeps in a worker thread; a normal page stays fast while 16
    clients post wrong passwords as fast as they can."""
    with loaded.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, loaded.clock.now())
    stop = threading.Event()
    answers: list[int] = []

    with LiveServer(loaded) as live:
        def attacker() -> None:
            with requests.Session() as http:
                page = http.get(f"{live.url}/admin/login", timeout=10).text
                token = TOKEN.search(page).group(1)
                while not stop.is_set():
                    answers.append(http.post(f"{live.url}/admin/login", data={
                        "csrf_token": token, "username": "admin",
                        "password": "wrong password"}, timeout=10).status_code)

        threads = [threading.Thread(target=attacker) for _ in range(16)]
        for thread in threads:
            thread.start()
        try:
            time.sleep(0.5)
            timings = []
            for _ in range(20):
                started = time.monotonic()
                assert requests.get(f"{live.url}/year/2024", timeout=10).status_code == 200
                timings.append(time.monotonic() - started)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
    assert statistics.median(timings) < 0.3, timings
    assert 429 in answers and answers.count(200) <= 10


# --- Counters shared through Redis -------------------------------------------------------

def _redis_or_skip():
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if "CALENDAR_TEST_REDIS_URL" in os.environ:
            raise
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    return redis


def _serve(env: dict, cwd, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "calendar_service", "serve", "--port", str(port),
         "--no-scheduler"], env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait_until_up(server: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"{url}/healthz", timeout=2)
            return
        except requests.ConnectionError:
            if server.poll() is not None:
                raise AssertionError(server.stdout.read().decode()) from None
            if time.monotonic() > deadline:
                raise AssertionError("server did not start") from None
            time.sleep(0.1)


def test_two_server_processes_share_their_counters_through_redis(tmp_path):
    """Two processes (two gunicorn workers, or two machines) with one Redis: a client gets
    ten login attempts a minute in all, not ten from each."""
    from tests.smtp_sink import free_port

    redis = _redis_or_skip()
    secret = f"test-secret-{uuid.uuid4().hex}"  # its own counters (their names use it)
    env = {**os.environ, "CALENDAR_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
           "CALENDAR_EVENTS": str(ROOT / "events" / "2024.toml"),
           "CALENDAR_SECRET_KEY": secret, "CALENDAR_RATELIMIT_STORAGE": REDIS_URL,
           "CALENDAR_MAIL_URL": f"file://{tmp_path / 'outbox'}"}
    subprocess.run([sys.executable, "-m", "calendar_service", "db", "upgrade"], env=env,
                   check=True, cwd=tmp_path, capture_output=True, timeout=60)
    ports = [free_port(), free_port()]
    servers = [_serve(env, tmp_path, port) for port in ports]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for server, url in zip(servers, urls):
            _wait_until_up(server, url)
        with requests.Session() as http:
            token = TOKEN.search(http.get(f"{urls[0]}/admin/login", timeout=10).text).group(1)
            codes = [http.post(f"{urls[i % 2]}/admin/login", data={
                "csrf_token": token, "username": f"u{i}", "password": "x"},
                timeout=10).status_code for i in range(12)]
        assert codes[:10] == [200] * 10 and codes[10:] == [429, 429], codes
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
        client = redis.Redis.from_url(REDIS_URL)
        import hashlib

        prefix = hashlib.sha256(secret.encode()).hexdigest()[:12]
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)


def test_the_limits_fail_open_when_their_storage_is_down(loaded, database, db_url, tmp_path):
    """Redis unreachable: the site keeps answering (the lockout and the per-address cooldown
    still hold), and the failure is logged."""
    from tests.smtp_sink import free_port

    pytest.importorskip("redis")
    down = Services(make_settings(db_url, tmp_path, CALENDAR_RATELIMIT_STORAGE=(
        f"redis://127.0.0.1:{free_port()}/0")), clock=loaded.clock, _database=database)
    app = create_app(down)
    client = app.test_client()
    token = token_of(client, "/admin/login")
    assert login(client, token, "nobody", "x").status_code == 200


def test_the_browser_helper_still_logs_in(admin_app):
    assert Browser(admin_app).login().status_code == 302
