"""Issue 11, "the ones nobody listed", each tested: no cache keeps a private answer,
HSTS in production over HTTPS, result links that give a planted page neither the opener,
the referrer nor search-engine credit."""

from __future__ import annotations

from dataclasses import replace

from calendar_service.app import create_app
from tests.test_admin import admin, admin_services, app, browser  # noqa: F401 (fixtures)
from tests.test_plans_web import logged_in, make_app, one_task, planned, save_task  # noqa: F401

LINK = "https://baoquangnam.vn/bai-viet-70-nam.html"


def test_no_cache_keeps_an_admin_page(admin):
    for path in ("/admin/", "/admin/audit", "/admin/subscribers", "/admin/login",
                 "/admin/export"):
        assert "no-store" in admin.get(path).headers["Cache-Control"], path
    assert "no-store" in admin.client.get("/admin/nope").headers["Cache-Control"]


def test_no_cache_keeps_a_page_whose_address_is_a_secret(client):
    for path in ("/subscribe/confirm/abc", "/unsubscribe/abc"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")


def test_hsts_in_production_over_https_only(loaded):
    production = type(loaded)(replace(loaded.settings, env="production"), clock=loaded.clock,
                              _database=loaded.database)
    client = create_app(production).test_client()
    assert client.get("/", base_url="https://example.org").headers[
        "Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/").headers
    development = create_app(loaded).test_client()
    assert "Strict-Transport-Security" not in development.get(
        "/", base_url="https://example.org").headers


def test_result_links_are_nofollow_noopener_noreferrer(planned):  # noqa: F811
    member = logged_in(make_app(planned), "bqn")
    task = one_task(planned, "bao-quang-nam")
    assert save_task(member, task["id"], link=LINK).status_code == 302
    page = member.text(f"/admin/tasks/{task['id']}")
    assert f'<a href="{LINK}" rel="noopener noreferrer nofollow">' in page
    report = member.text("/admin/reports/2024")
    assert f'<a href="{LINK}" rel="noopener noreferrer nofollow">' in report
