"""Issue 11's proof: every route of the app, fuzzed — random path segments, query strings and
form bodies (Unicode digits, NUL, huge numbers, huge strings, markup, known parameter and
field names with nasty values, a valid CSRF token or none) — as an anonymous visitor, an
administrator and a member of an agency, on SQLite and PostgreSQL: no answer is a 5xx.

`app.testing` is on, so an unhandled exception is raised here rather than turned into a
500 page: hypothesis shows the request that caused it. The rate limits are off (they are
tested in test_rate_limits.py; here they would only turn requests into 429s).

The example count is moderate for the suite; set CALENDAR_FUZZ_EXAMPLES to run more (README,
"Testing").
"""

from __future__ import annotations

import os
import re
from collections import Counter
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calendar_service.admin import forms as admin_forms
from calendar_service.plans import forms as plan_forms
from calendar_service.plans.models import TaskRow
from calendar_service.reminders import forms as reminder_forms
from calendar_service.store.models import AgencyRow
from tests.test_admin import Browser, make_app
from tests.test_plans_web import planned  # noqa: F401 (fixture)

EXAMPLES = int(os.environ.get("CALENDAR_FUZZ_EXAMPLES", "60"))
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
CONVERTER = re.compile(r"<(?:[^:>]+:)?([^>]+)>")
HTTP = st.sampled_from(["GET", "POST", "HEAD"])

# Values an attacker tries first.
NASTY = [
    "", "0", "-1", "1", "2024", "99999999999999999999", "2147483648", "1e9", "0x10", " 1",
    "1_000", "+1", "١٢", "２０２４", "²", "٢٠٢٤-٠١-٠١", "2024-02-30", "2024-13-01", "9999-12-31",
    "\x00", "a\x00b", "%00", "\r\nBcc: x@example.org", "<script>alert(1)</script>",
    "' OR 1=1 --", "../../etc/passwd", "javascript:alert(1)", "https://evil.example/",
    "//evil.example", "/\\evil.example", "true", "yes", "on", "all", "open", "done",
    "victory", "notable", "dien-bien-phu", "bao-quang-nam", "x" * 300, "ư" * 2000,
    "9" * 5000,
]
PARAMS = ["from", "to", "category", "q", "page", "per_page", "year", "alarm", "designated",
          "round", "only", "agency", "status", "overdue", "format", "next", "commemoration",
          "id", "csrf_token"]
FIELDS = sorted({field for form in (
    admin_forms.LoginForm, admin_forms.EditForm, admin_forms.ObservanceForm,
    admin_forms.SubscriberForm, reminder_forms.SignupForm, plan_forms.TaskForm,
    plan_forms.RemoveLinkForm, plan_forms.ManualTaskForm) for field in form.__dict__
    if not field.startswith("_") and not callable(getattr(form, field, None))} | {
    "username", "password", "email", "name", "organisation", "categories", "scope",
    "webhook", "lead_days", "revision", "title", "description", "location", "note",
    "observed_on", "status", "link", "kind", "agency", "due", "commemoration", "next",
    "List-Unsubscribe"})

values = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-2**70, max_value=2**70).map(str),
    st.text(max_size=40),
    st.text(alphabet=st.characters(categories=["Nd"]), min_size=1, max_size=12),
    st.builds(lambda n: "9" * n, st.integers(min_value=1, max_value=20_000)),
)
names = st.one_of(st.sampled_from(PARAMS), st.text(max_size=12))
form_names = st.one_of(st.sampled_from(FIELDS), st.text(max_size=12))


def routes(app) -> list:
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]


def path_for(rule, samples: dict[str, list[str]], draw) -> str:
    def segment(match: re.Match) -> str:
        name = match.group(1)
        value = draw(st.one_of(st.sampled_from(samples.get(name, ["1"])), values))
        return quote(value, safe="")
    return CONVERTER.sub(segment, rule.rule)


def request_strategy(app, samples):
    rules = routes(app)

    @st.composite
    def build(draw):
        rule = draw(st.sampled_from(rules))
        methods = sorted(rule.methods - {"OPTIONS"})
        method = draw(st.sampled_from(methods)) if draw(st.booleans()) else draw(HTTP)
        path = path_for(rule, samples, draw)
        query = draw(st.lists(st.tuples(names, values), max_size=4))
        form = draw(st.lists(st.tuples(form_names, values), max_size=6))
        csrf = draw(st.sampled_from(["valid", "none", "bogus"]))
        return rule, method, path, query, form, csrf

    return build()


def samples_of(services) -> dict[str, list[str]]:
    with services.database.session() as session:
        tasks = [str(t.id) for t in session.query(TaskRow).limit(5)]
        agencies = list(session.query(AgencyRow).limit(3))
    return {"ident": ["dien-bien-phu", "huynh-ngoc-hue", "1", *tasks],
            "year": ["2024", "2025", "1900", "2200"],
            "agency_id": [a.id for a in agencies],
            "token": [a.feed_token for a in agencies] + ["abc.def"]}


def fuzz(app, browser: Browser, services, skip: set[str], who: str) -> Counter:
    """Random requests; the status codes of the answers, counted."""
    app.config["RATELIMIT_ENABLED"] = False
    seen: Counter = Counter()
    samples = samples_of(services)
    token = TOKEN.search(browser.client.get("/subscribe").get_data(as_text=True)).group(1)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(request_strategy(app, samples))
    def one_request(req) -> None:
        rule, method, path, query, form, csrf = req
        if rule.endpoint in skip:
            return
        data = dict(form)
        if csrf == "valid":
            data["csrf_token"] = token
        elif csrf == "bogus":
            data["csrf_token"] = "bogus"
        url = path + ("?" + urlencode(query) if query else "")
        response = browser.client.open(url, method=method,
                                       data=data if method == "POST" else None)
        assert response.status_code < 500, (method, url, data, response.status_code)
        seen[response.status_code] += 1

    one_request()
    print(f"\nfuzz as {who}: {sum(seen.values())} requests, statuses {dict(sorted(seen.items()))}")
    return seen


@pytest.fixture
def fuzz_app(planned):  # noqa: F811
    from calendar_service.store import heartbeat

    # A scheduler tick just now, as in a running deployment: /readyz is then a 200, so a
    # 503 from it would be a real fault (without one it rightly answers 503).
    with planned.database.session() as session:
        now = planned.clock.now()
        heartbeat.beat(session, "tick", started=now, finished=now, ok=True)
    return make_app(planned)


def logged_in(app, name: str) -> Browser:
    from tests.test_admin import PASSWORD

    browser = Browser(app)
    assert browser.login(name, PASSWORD).status_code == 302
    return browser


def test_fuzz_every_route_anonymously(fuzz_app, planned):  # noqa: F811
    seen = fuzz(fuzz_app, Browser(fuzz_app), planned, skip=set(), who="anonymous")
    # It reached pages and their checks. (Not every run draws a path that is missing: a
    # run of 60 requests once had no 404, so a 404 is not required of each run.)
    assert seen[200] and seen[400]


def test_fuzz_every_route_as_an_administrator(fuzz_app, planned):  # noqa: F811
    seen = fuzz(fuzz_app, logged_in(fuzz_app, "admin"), planned, skip={"admin.logout"},
                who="administrator")
    assert seen[200] and seen[400]


def test_fuzz_every_route_as_a_member_of_an_agency(fuzz_app, planned):  # noqa: F811
    seen = fuzz(fuzz_app, logged_in(fuzz_app, "bqn"), planned, skip={"admin.logout"},
                who="member")
    assert seen[200] and (seen[400] or seen[403])
