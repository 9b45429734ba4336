"""The year at a glance, one commemoration's page, and how to subscribe."""

from __future__ import annotations

import calendar as calendar_module
from collections import defaultdict
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, render_template

from ..anniversaries import next_occurrence, occurrence_in
from ..catalogue import CATEGORIES
from ..clock import today
from ..feeds.links import feed_url, google_subscribe_url, webcal_url
from .home import MONTHS
from .services import commemoration_or_404, services

bp = Blueprint("pages", __name__)

WEEKDAY_HEADERS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
MIN_YEAR, MAX_YEAR = 1900, 2200


@bp.get("/year/<int:year>")
def year(year: int):
    if not MIN_YEAR <= year <= MAX_YEAR:
        abort(404, description=f"Chỉ xem được các năm từ {MIN_YEAR} đến {MAX_YEAR}.")
    svc = services()
    found, _ = current_app.extensions["listing_index"].page(
        date(year, 1, 1), date(year, 12, 31), None, 0, 10**9)
    by_day: dict[date, list] = defaultdict(list)
    undecided = []
    for occ in found:
        (by_day[occ.date].append(occ) if occ.date else undecided.append(occ))
    cal = calendar_module.Calendar(firstweekday=0)
    months = []
    for month in range(1, 13):
        weeks = cal.monthdatescalendar(year, month)
        items = [o for d in sorted(by_day) if d.month == month for o in by_day[d]]
        months.append({"number": month, "name": MONTHS[month - 1], "weeks": weeks,
                       "entries": items})
    return render_template("year.html", year=year, months=months, by_day=by_day,
                           undecided=undecided, weekdays=WEEKDAY_HEADERS,
                           today=today(svc.clock), total=len(found))


def google_event_link(title: str, day: date, details: str, location: str | None) -> str:
    params = {"action": "TEMPLATE", "text": title,
              "dates": f"{day:%Y%m%d}/{day + timedelta(days=1):%Y%m%d}", "details": details}
    if location:
        params["location"] = location
    return "https://calendar.google.com/calendar/render?" + urlencode(params)


@bp.get("/events/<ident>")
def event(ident: str):
    svc = services()
    stored = commemoration_or_404(ident)
    c = stored.commemoration
    now = today(svc.clock)
    upcoming = next_occurrence(c, now)
    anniversaries = [occ for y in range(c.origin_year + 1, now.year + 11)
                     if (occ := occurrence_in(c, y)) is not None]
    plan = []
    if upcoming is not None and upcoming.date is not None:
        at = svc.settings.reminder_time
        plan = [(lead, datetime.combine(upcoming.date - timedelta(days=lead), at))
                for lead in upcoming.lead_days]
    google = None
    if upcoming is not None and upcoming.date is not None:
        google = google_event_link(upcoming.title, upcoming.date,
                                   f"{c.description}\n\n{svc.settings.base_url}/events/{c.id}",
                                   c.location)
    return render_template("event.html", c=c, stored=stored, upcoming=upcoming,
                           anniversaries=anniversaries, plan=plan, google=google, today=now)


def render_subscribe(form=None):
    from ..reminders.forms import SignupForm

    base = services().settings.base_url
    feeds = [{"label": "Tất cả ngày kỷ niệm", "https": feed_url(base),
              "webcal": webcal_url(base), "google": google_subscribe_url(base)}]
    feeds.append({"label": "Chỉ các ngày chỉ thị nêu tên",
                  "https": feed_url(base, designated="1"),
                  "webcal": webcal_url(base, designated="1"),
                  "google": google_subscribe_url(base, designated="1")})
    for slug, cat in CATEGORIES.items():
        feeds.append({"label": f"Nhóm: {cat.label}", "https": feed_url(base, category=slug),
                      "webcal": webcal_url(base, category=slug),
                      "google": google_subscribe_url(base, category=slug)})
    return render_template("subscribe.html", feeds=feeds, form=form or SignupForm())


@bp.get("/subscribe")
def subscribe():
    return render_subscribe()
