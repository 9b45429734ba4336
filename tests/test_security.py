"""Security properties of the web app, each tested."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import pytest

from calendar_service.app import create_app
from calendar_service.catalogue import Catalogue, load_catalogue
from calendar_service.config import ConfigError, Settings
from calendar_service.store import sync_catalogue
from tests.conftest import EVENTS_2024, NOW


def test_security_headers_on_every_kind_of_response(client):
    for path in ("/", "/year/2024", "/events/dien-bien-phu", "/subscribe", "/api/categories",
                 "/calendar.ics", "/nope", "/static/site.css"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, path
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, path
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert headers["X-Frame-Options"] == "DENY", path


def test_no_inline_script_or_style_in_pages(client):
    for path in ("/", "/year/2024", "/events/dien-bien-phu", "/subscribe"):
        page = client.get(path).get_data(as_text=True)
        assert "<script" not in page and "<style" not in page and " style=" not in page, path


def test_markup_in_data_is_shown_as_text(client, loaded):
    catalogue = load_catalogue([EVENTS_2024])
    evil = "<script>alert('x')</script> & <b>đậm</b>"
    with loaded.database.session() as session:
        sync_catalogue(session, Catalogue(catalogue.files, tuple(
            replace(c, description=evil, title="Chiến thắng <i>Điện Biên Phủ</i>")
            if c.id == "dien-bien-phu" else c for c in catalogue.commemorations)), NOW)
    for path in ("/events/dien-bien-phu", "/?from=2024-05-01&q=dien", "/year/2024"):
        page = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in page and "<i>Điện" not in page, path
    page = client.get("/events/dien-bien-phu").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;đậm&lt;/b&gt;" in page


def test_forms_refuse_a_post_without_csrf_token(client):
    response = client.post("/subscribe", data={"email": "a@example.org", "scope": "notable"})
    assert response.status_code == 400
    assert "Phiên làm việc đã hết hạn" in response.get_data(as_text=True)


def test_session_cookie_flags(loaded):
    app = create_app(loaded)
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SESSION_COOKIE_SECURE"] is False  # development/test: plain http
    production = replace(loaded.settings, env="production")
    loaded_production = type(loaded)(production, clock=loaded.clock, _database=loaded.database)
    assert create_app(loaded_production).config["SESSION_COOKIE_SECURE"] is True


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError):
        Settings.from_env({"CALENDAR_ENV": "production"}, env_file=None)
    done = subprocess.run(
        [sys.executable, "-m", "calendar_service", "serve", "--port", "1"],
        env={"CALENDAR_ENV": "production", "PATH": "/usr/bin:/bin"}, cwd=tmp_path,
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "CALENDAR_SECRET_KEY is required" in done.stderr


def test_no_secret_in_the_repository():
    """No key is committed: the only literal secrets are the tests' own throw-away ones."""
    import re

    root = EVENTS_2024.parents[1]
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True,
                             cwd=root).stdout.split()
    assert ".env" not in tracked
    assignment = re.compile(r"""SECRET_KEY["']?\s*[:=]\s*["']([^"'\s]{6,})["']""")
    found = []
    for name in tracked:
        if not name.endswith((".py", ".toml", ".cfg", ".ini", ".env", ".yml", ".yaml", ".json")):
            continue
        for secret in assignment.findall((root / name).read_text(encoding="utf-8")):
            if not (name.startswith(("tests/", "bench/")) and "test" in secret or "bench" in secret):
                found.append((name, secret))
    assert found == []
