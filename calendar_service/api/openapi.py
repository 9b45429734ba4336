"""The OpenAPI 3.1 document. The suite runs schemathesis against it: every response the API
gives must match what is written here."""

from __future__ import annotations

from ..catalogue import CATEGORIES
from ..catalogue.model import SCOPES

DATE = {"type": "string", "format": "date"}
NULLABLE_STR = {"type": ["string", "null"]}
CATEGORY = {"type": "string", "enum": sorted(CATEGORIES)}
SCOPE = {"type": "string", "enum": list(SCOPES),
         "description": "national: the nation's observance; local: the province's own"}
_ONE = "(" + "|".join(sorted(CATEGORIES)) + ")"
CATEGORY_LIST = f"^{_ONE}(,{_ONE})*$"
# calendar_service/params.py: 1/0, true/false, yes/no, on/off, in any case.
_WORDS = ("0", "1", "true", "false", "yes", "no", "on", "off")
FLAG = {"type": "string", "pattern": "^(" + "|".join(
    "".join(f"[{c.upper()}{c}]" if c.isalpha() else c for c in w) for w in _WORDS) + ")$"}

ORIGIN = {"type": ["string", "null"], "description": "YYYY-MM-DD; YYYY when only the year is "
          "known; a lunar origin YYYY-L03-10 (L04L10: leap month 4), L03-10 without a year; "
          "null for a yearly observance with neither"}

DESIGNATION = {
    "type": "object",
    "required": ["directive", "year", "ordinal", "label", "title"],
    "additionalProperties": False,
    "properties": {
        "directive": {"type": "string", "description": "the directive's id, e.g. chi-thi-2024"},
        "year": {"type": "integer"},
        "ordinal": {"type": ["integer", "null"], "minimum": 1,
                    "description": "null for a yearly observance with no historical year"},
        "label": {"type": "string", "description": "its short name, e.g. Chỉ thị năm 2024"},
        "title": {"type": "string", "description": "the directive as issued, in full"},
    },
}

OCCURRENCE = {
    "type": "object",
    "required": ["id", "year", "date", "weekday", "ordinal", "title", "commemoration",
                 "category", "scope", "origin", "precision", "designated", "designated_by",
                 "round", "round_rank", "observed", "to_be_decided", "leap_day_shifted", "lunar",
                 "lunar_shifted", "url"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "year": {"type": "integer"},
        "date": {"type": ["string", "null"], "format": "date",
                 "description": "null: only the year is known and no day is chosen yet"},
        "weekday": NULLABLE_STR,
        "ordinal": {"type": ["integer", "null"], "minimum": 1,
                    "description": "null: a yearly observance with no historical year (Tết)"},
        "title": {"type": "string", "description": "e.g. Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ"},
        "commemoration": {"type": "string"},
        "category": CATEGORY,
        "scope": SCOPE,
        "origin": ORIGIN,
        "precision": {"type": "string", "enum": ["day", "year"]},
        "lunar": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["year", "month", "day", "leap", "label"],
            "additionalProperties": False,
            "description": "the lunar date of `date` when the origin is lunar",
            "properties": {"year": {"type": "integer"},
                           "month": {"type": "integer", "minimum": 1, "maximum": 12},
                           "day": {"type": "integer", "minimum": 1, "maximum": 30},
                           "leap": {"type": "boolean"},
                           "label": {"type": "string", "description": "e.g. 10/3 âm lịch"}}}]},
        "lunar_shifted": {"type": "boolean", "description": "the origin's lunar day does not "
                          "exist this year (day 30, a leap month): observed on the nearest"},
        "designated": {"type": "boolean"},
        "designated_by": {"type": "array", "items": DESIGNATION,
                          "description": "the directives that name this occurrence"},
        "round": {"type": "boolean"},
        "round_rank": {"type": "integer", "enum": [0, 1, 2]},
        "observed": {"type": "boolean"},
        "to_be_decided": {"type": "boolean"},
        "leap_day_shifted": {"type": "boolean"},
        "url": {"type": "string", "format": "uri"},
    },
}

COMMEMORATION = {
    "type": "object",
    "required": ["id", "title", "category", "scope", "origin", "origin_year", "lunar",
                 "precision", "description", "location", "location_today", "designations",
                 "source", "note", "aliases", "status", "revision", "updated_at", "next",
                 "url", "ics"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "category": CATEGORY,
        "scope": SCOPE,
        "origin": ORIGIN,
        "origin_year": {"type": ["integer", "null"]},
        "lunar": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["month", "day", "leap", "label"],
            "additionalProperties": False,
            "properties": {"month": {"type": "integer", "minimum": 1, "maximum": 12},
                           "day": {"type": "integer", "minimum": 1, "maximum": 30},
                           "leap": {"type": "boolean"}, "label": {"type": "string"}}}]},
        "precision": {"type": "string", "enum": ["day", "year"]},
        "description": {"type": "string"},
        "location": NULLABLE_STR,
        "location_today": {"type": ["string", "null"],
                           "description": "the place's name today when it has been renamed or "
                                          "merged since (e.g. nay thuộc thành phố Đà Nẵng)"},
        "designations": {"type": "array", "items": DESIGNATION,
                         "description": "every directive that names one of its occurrences"},
        "source": {"type": "string"},
        "note": NULLABLE_STR,
        "aliases": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string", "enum": ["active", "cancelled"]},
        "revision": {"type": "integer", "minimum": 1},
        "updated_at": {"type": "string", "format": "date-time"},
        "next": {"oneOf": [{"$ref": "#/components/schemas/Occurrence"}, {"type": "null"}]},
        "url": {"type": "string", "format": "uri"},
        "ics": {"type": "string", "format": "uri"},
    },
}

CATEGORY_OBJECT = {
    "type": "object",
    "required": ["slug", "label", "description", "lead_days", "lead_days_round"],
    "additionalProperties": False,
    "properties": {
        "slug": CATEGORY,
        "label": {"type": "string"},
        "description": {"type": "string"},
        "lead_days": {"type": "array", "items": {"type": "integer"}},
        "lead_days_round": {"type": "array", "items": {"type": "integer"}},
    },
}

SUGGESTIONS = {
    "type": "object",
    "required": ["year", "heading", "paragraph", "items"],
    "additionalProperties": False,
    "properties": {
        "year": {"type": "integer"},
        "heading": {"type": "string"},
        "paragraph": {"type": "string",
                      "description": "The items in one run, as section I.7 writes them"},
        "items": {"type": "array", "items": {
            "type": "object",
            "required": ["rank", "text", "scope", "occurrence"],
            "additionalProperties": False,
            "properties": {
                "rank": {"type": "integer", "minimum": 1},
                "text": {"type": "string"},
                "scope": {"type": "string", "enum": ["national", "local"]},
                "occurrence": {"$ref": "#/components/schemas/Occurrence"},
            }}},
    },
}

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}


def _problem(description: str) -> dict:
    return {"description": description,
            "content": {"application/problem+json": {
                "schema": {"$ref": "#/components/schemas/Problem"}}}}


def _param(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def document(base_url: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lịch kỷ niệm API",
            "version": "1.0.0",
            "description": "Commemorations designated by the provincial directive and their "
                           "anniversaries in any year. Read-only; CORS is open for GET.",
        },
        "servers": [{"url": base_url}],
        "paths": {
            "/api/events": {"get": {
                "operationId": "listOccurrences",
                "summary": "Occurrences in a date range, paged",
                "parameters": [
                    _param("from", DATE, "First day (default: today); days are 1900-01-01 to "
                                         "2200-12-31."),
                    _param("to", DATE, "Last day (default: a year after from). Must not be "
                                       "before `from`, and at most 3 years after it: a 400 "
                                       "otherwise."),
                    _param("category", {"type": "string", "pattern": CATEGORY_LIST},
                           "Comma-separated categories: " + ", ".join(sorted(CATEGORIES))),
                    _param("designated", FLAG,
                           "1 (or true, yes, on): only occurrences a directive designates."),
                    _param("round", FLAG,
                           "1 (or true, yes, on): only round anniversaries (ordinal "
                           "divisible by 5)."),
                    _param("only", {"type": "string", "enum": ["designated", "round", "notable"]},
                           "designated, round, or notable (designated or round): the page's "
                           "shorthand for the flags above."),
                    _param("q", {"type": "string", "maxLength": 100,
                                 "pattern": "^[^\\u0000-\\u001f\\u007f]*$"},
                           "Accent-insensitive search in titles and other names "
                           "(no control characters)."),
                    _param("page", {"type": "integer", "minimum": 1, "maximum": 10000},
                           "Page number."),
                    _param("per_page", {"type": "integer", "minimum": 1, "maximum": 200},
                           "Items per page (default 50)."),
                ],
                "responses": {
                    "200": {"description": "A page of occurrences",
                            "content": {"application/json": {"schema": {
                                "type": "object",
                                "required": ["items", "page", "per_page", "total", "from", "to"],
                                "additionalProperties": False,
                                "properties": {
                                    "items": {"type": "array", "items": {
                                        "$ref": "#/components/schemas/Occurrence"}},
                                    "page": {"type": "integer"},
                                    "per_page": {"type": "integer"},
                                    "total": {"type": "integer"},
                                    "from": DATE,
                                    "to": DATE,
                                }}}}},
                    "400": _problem("A malformed parameter"),
                },
            }},
            "/api/events/{id}": {"get": {
                "operationId": "getCommemoration",
                "summary": "One commemoration and its next occurrence",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string", "maxLength": 80,
                                           "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}}],
                "responses": {
                    "200": {"description": "The commemoration",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/Commemoration"}}}},
                    "400": _problem("A control character (such as NUL) in the id"),
                    "404": _problem("No such commemoration"),
                },
            }},
            "/api/suggest": {"get": {
                "operationId": "suggestForDirective",
                "summary": "The round anniversaries of a year, for drafting its directive",
                "description": "Every occurrence of the year whose ordinal is divisible by 5, "
                               "ranked (ordinals ending in 0 first, then national before "
                               "local, then by date) and phrased as the directive writes them: "
                               "\"Kỷ niệm 75 năm ngày Chiến thắng Điện Biên Phủ (07/5/1954 - "
                               "07/5/2029)\". The same list as `calendar-service suggest`.",
                "parameters": [_param("year", {"type": "integer", "minimum": 1900,
                                               "maximum": 2200},
                                      "The directive's year (default: next year).")],
                "responses": {
                    "200": {"description": "The suggestions, best first",
                            "content": {"application/json": {"schema": SUGGESTIONS}}},
                    "400": _problem("A malformed parameter"),
                },
            }},
            "/api/categories": {"get": {
                "operationId": "listCategories",
                "summary": "The categories and their default reminder lead times",
                "responses": {"200": {"description": "Categories", "content": {
                    "application/json": {"schema": {"type": "array", "items": {
                        "$ref": "#/components/schemas/Category"}}}}}},
            }},
        },
        "components": {"schemas": {"Occurrence": OCCURRENCE, "Commemoration": COMMEMORATION,
                                   "Category": CATEGORY_OBJECT, "Problem": PROBLEM}},
    }
