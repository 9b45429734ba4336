"""Issue 11, items 3 and 5, on SQLite and PostgreSQL: the lockout counts concurrent wrong
passwords atomically (waves of parallel POSTs over real HTTP lock the account), and admin
sessions live on the server, so logout, a new password, a lock and the account's removal end
them at once — a copied cookie opens nothing afterwards."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import func, select

from calendar_service.admin import accounts
from calendar_service.admin.models import AdminSession
from tests.conftest import NOW
from tests.live import LiveServer
from tests.test_admin import PASSWORD, Browser, make_app

TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def admin_services(loaded):
    with loaded.database.session() as session:
        accounts.create_user(session, "admin", PASSWORD, loaded.clock.now())
    return loaded


def user_state(services):
    with services.database.session() as session:
        user = accounts.find_user(session, "admin")
        return user.failed_attempts, user.locked_until


def test_four_waves_of_eight_parallel_wrong_passwords_lock_the_account(admin_services):
    with LiveServer(admin_services) as live:
        # The lockout is what is tested here, not the per-client limit in front of it (a
        # distributed attack comes from many addresses): test_rate_limits.py tests that.
        live.app.config["RATELIMIT_ENABLED"] = False
        clients = []
        for _ in range(8):
            http = requests.Session()
            token = TOKEN.search(http.get(f"{live.url}/admin/login", timeout=10).text).group(1)
            clients.append((http, token))
        statuses: list[int] = []
        for _wave in range(4):
            barrier = threading.Barrier(8)

            def guess(http, token) -> None:
                barrier.wait()
                statuses.append(http.post(f"{live.url}/admin/login", data={
                    "csrf_token": token, "username": "admin", "password": "wrong password"},
                    timeout=30, allow_redirects=False).status_code)

            threads = [threading.Thread(target=guess, args=c) for c in clients]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
        assert statuses == [200] * 32  # no 500, no "database is locked"
        failed, locked_until = user_state(admin_services)
        assert locked_until == NOW + timedelta(minutes=15)
        # After 32 wrong guesses the right password is refused too.
        http, token = clients[0]
        right = http.post(f"{live.url}/admin/login", data={
            "csrf_token": token, "username": "admin", "password": PASSWORD},
            timeout=30, allow_redirects=False)
        assert right.status_code == 200 and "không đúng" in right.text
        for http, _ in clients:
            http.close()


def test_every_concurrent_failure_counts(admin_services):
    """Four parallel failures on a fresh account: the counter says 4 (not 1 or 2)."""
    with LiveServer(admin_services) as live:
        live.app.config["RATELIMIT_ENABLED"] = False
        sessions = []
        for _ in range(4):
            http = requests.Session()
            token = TOKEN.search(http.get(f"{live.url}/admin/login", timeout=10).text).group(1)
            sessions.append((http, token))
        barrier = threading.Barrier(4)

        def guess(http, token) -> None:
            barrier.wait()
            http.post(f"{live.url}/admin/login", data={
                "csrf_token": token, "username": "admin", "password": "wrong password"},
                timeout=30)

        threads = [threading.Thread(target=guess, args=s) for s in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert user_state(admin_services) == (4, None)


# --- Revocable sessions -------------------------------------------------------------------

@pytest.fixture
def app(admin_services):
    return make_app(admin_services)


def signed_in(app) -> tuple[Browser, str]:
    browser = Browser(app)
    assert browser.login().status_code == 302
    cookie = browser.client.get_cookie("session")
    assert cookie is not None
    return browser, cookie.value


def with_cookie(app, value: str):
    client = app.test_client()
    client.set_cookie("session", value)
    return client


def test_logout_ends_the_session_even_for_a_copied_cookie(app):
    browser, copied = signed_in(app)
    assert with_cookie(app, copied).get("/admin/").status_code == 200
    browser.post("/admin/logout")
    response = with_cookie(app, copied).get("/admin/")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_a_new_password_a_lock_and_removal_end_every_session(app, admin_services):
    _, first = signed_in(app)
    _, second = signed_in(app)
    with admin_services.database.session() as session:
        accounts.set_password(session, "admin", "another long password")
    assert with_cookie(app, first).get("/admin/").status_code == 302
    assert with_cookie(app, second).get("/admin/").status_code == 302

    with admin_services.database.session() as session:
        accounts.set_password(session, "admin", PASSWORD)
    _, third = signed_in(app)
    attacker = Browser(app)
    for _ in range(5):
        attacker.login(password="wrong password")  # the fifth locks the account
    assert with_cookie(app, third).get("/admin/").status_code == 302

    admin_services.clock.at = NOW + timedelta(minutes=16)
    _, fourth = signed_in(app)
    with admin_services.database.session() as session:
        accounts.remove_user(session, "admin")
    assert with_cookie(app, fourth).get("/admin/").status_code == 302
    with admin_services.database.session() as session:
        assert session.scalar(select(func.count()).select_from(AdminSession)) == 0


def test_the_table_holds_a_digest_not_the_token(app, admin_services):
    _, cookie = signed_in(app)
    with admin_services.database.session() as session:
        (row,) = session.scalars(select(AdminSession))
    assert len(row.id) == 64 and row.id not in cookie


def test_a_session_ends_after_twelve_hours(app, admin_services):
    _, cookie = signed_in(app)
    admin_services.clock.at = NOW + timedelta(hours=11, minutes=59)
    assert with_cookie(app, cookie).get("/admin/").status_code == 200
    admin_services.clock.at = NOW + timedelta(hours=12)
    assert with_cookie(app, cookie).get("/admin/").status_code == 302


def test_users_passwd_and_remove_on_the_command_line_sign_out(app, admin_services, cli):
    _, cookie = signed_in(app)
    result = cli("users", "remove", "admin")
    assert result.exit_code == 0, result.output
    assert with_cookie(app, cookie).get("/admin/").status_code == 302
