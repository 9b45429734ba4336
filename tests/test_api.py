"""The JSON API: shapes, errors as RFC 9457 problems, CORS, and schemathesis against the
OpenAPI document (no 500s, every response matching its schema)."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, positive_data_acceptance


def test_events_in_a_range(client):
    body = client.get("/api/events?from=2024-04-20&to=2024-05-31").get_json()
    assert body["page"] == 1 and body["total"] == 3
    # Dated ones in order, then the year-only one whose day is not decided.
    assert [o["id"] for o in body["items"]] == ["tran-phu", "dien-bien-phu", "huynh-ngoc-hue"]
    assert body["items"][2]["date"] is None
    dbp = body["items"][1]
    assert dbp["title"] == "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ"
    assert (dbp["date"], dbp["weekday"], dbp["round_rank"], dbp["designated"]) == (
        "2024-05-07", "Thứ Ba", 2, True)
    assert dbp["url"] == "http://127.0.0.1:5000/events/dien-bien-phu"


def test_filters_search_and_paging(client):
    year = "from=2024-01-01&to=2024-12-31"
    assert [o["id"] for o in client.get(f"/api/events?{year}&category=victory")
            .get_json()["items"]] == ["dien-bien-phu", "thuong-duc"]
    assert [o["id"] for o in client.get(f"/api/events?{year}&q=giong").get_json()["items"]] \
        == ["hoang-dinh-giong"]
    first = client.get(f"/api/events?{year}&per_page=5").get_json()
    second = client.get(f"/api/events?{year}&per_page=5&page=2").get_json()
    assert first["total"] == second["total"] == 12
    assert not {o["id"] for o in first["items"]} & {o["id"] for o in second["items"]}
    assert client.get("/api/events?from=2025-01-01&to=2025-12-31&designated=1") \
        .get_json()["total"] == 0


def test_one_commemoration(client):
    body = client.get("/api/events/me-nguyen-thi-thu").get_json()
    assert (body["precision"], body["origin"], body["status"]) == ("year", "1904", "active")
    assert body["next"]["to_be_decided"] is True  # 2026: no day chosen yet
    assert body["ics"].endswith("/events/me-nguyen-thi-thu.ics")


@pytest.mark.parametrize("query", ["from=2024-13-01", "to=x", "category=sports",
                                   "designated=maybe", "page=0", "per_page=1000",
                                   "from=2024-05-01&to=2024-04-01",
                                   "from=2000-01-01&to=2020-01-01"])
def test_bad_parameters_are_problems(client, query):
    response = client.get(f"/api/events?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 400 and body["title"] == "Bad Request" and body["detail"]


def test_unknown_id_is_404_problem(client):
    response = client.get("/api/events/nope")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert client.get("/api/nothing-here").status_code == 404


def test_cors_for_get(client):
    response = client.get("/api/categories")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert [c["slug"] for c in response.get_json()] == [
        "victory", "historic-event", "founding", "national-day", "birth-anniversary"]
    assert "Access-Control-Allow-Origin" not in client.get("/").headers


def test_openapi_document(client):
    doc = client.get("/api/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {"/api/events", "/api/events/{id}", "/api/categories",
                                 "/api/suggest"}


@pytest.fixture
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_api_matches_its_openapi_document(case):
    # Every default check but "schema-valid requests are accepted": `to` before `from`, or a
    # range over three years, are schema-valid (OpenAPI cannot relate two parameters) and
    # still a 400 — by design, tested in test_bad_parameters_are_problems.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


@pytest.fixture
def negative_schema(app):
    """The same document, but every request made to break it: wrong types, out-of-range
    numbers, unknown values, NUL bytes (issue 11)."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    schema.config.generation.update(modes=[GenerationMode.NEGATIVE], allow_x00=True)
    return schema


# /api/categories takes no parameter: there is nothing to break.
negative = schemathesis.pytest.from_fixture("negative_schema").exclude(path="/api/categories")


@negative.parametrize()
@settings(max_examples=int(os.environ.get("CALENDAR_FUZZ_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_negative_data_is_never_a_server_error(case):
    response = case.call()
    assert response.status_code < 500, (case.path, case.query, response.status_code)
    case.validate_response(response, checks=[not_a_server_error])
