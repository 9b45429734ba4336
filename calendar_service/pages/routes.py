"""The public pages: upcoming commemorations (/), the year at a glance (/year/<Y>) and one
commemoration's page (/events/<id>)."""

from __future__ import annotations

import calendar as calendar_module
from collections import defaultdict
from datetime import date, datetime, timedelta
from itertools import groupby
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request

from ..anniversaries import next_occurrence, occurrence_in
from ..catalogue import CATEGORIES
from ..clock import today
from ..listing import Listing, ListingError
from ..params import FIRST_YEAR, LAST_YEAR, Choice, ParamError, Params, Slugs
from ..web.context import commemoration_or_404, services

bp = Blueprint("pages", __name__)

WINDOW_DAYS = 90
# The event page's table: the years this close to today are always shown.
NEAREST_BEFORE, NEAREST_AFTER = 2, 5
WEEKDAY_HEADERS = ("T2", "T3", "T4", "T5", "T6", "T7", "CN")
MONTHS = ["Tháng 1", "Tháng 2", "Tháng 3", "Tháng 4", "Tháng 5", "Tháng 6", "Tháng 7",
          "Tháng 8", "Tháng 9", "Tháng 10", "Tháng 11", "Tháng 12"]


def month_key(occ) -> tuple[int, int]:
    return (occ.year, occ.date.month) if occ.date else (occ.year, 13)


def month_label(key: tuple[int, int]) -> str:
    year, month = key
    return f"Năm {year}: chưa xác định ngày" if month == 13 else f"{MONTHS[month - 1]} năm {year}"


@bp.get("/")
def upcoming():
    svc = services()
    now = today(svc.clock)
    try:
        # A search looks a whole year ahead: people search for what they cannot see.
        listing = Listing.from_args(request.args, now, default_days=WINDOW_DAYS,
                                    search_days=366)
    except ListingError as exc:
        abort(400, description=str(exc))
    page, total = listing.run(svc.listing)
    groups = [(month_label(k), list(v)) for k, v in groupby(page, key=month_key)]
    pages = max(1, -(-total // listing.per_page))
    return render_template("home.html", listing=listing, groups=groups, total=total,
                           pages=pages, today=now, categories=CATEGORIES)


# The year page's filters: the home page's `only` and `category` (the listing's meaning).
YEAR_PARAMS = Params({"only": Choice(("designated", "round", "notable")),
                      "category": Slugs(CATEGORIES)})


@bp.get("/year/<int:year>")
def year(year: int):
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404, description=f"Chỉ xem được các năm từ {FIRST_YEAR} đến {LAST_YEAR}.")
    try:
        values = YEAR_PARAMS.parse(request.args)
    except ParamError as exc:
        abort(400, description=str(exc))
    only = values.only
    listing = Listing(start=date(year, 1, 1), end=date(year, 12, 31),
                      categories=values.category, designated=only == "designated",
                      round_only=only == "round", notable=only == "notable")
    svc = services()
    found, _ = svc.listing.page(listing.start, listing.end,
                                accepts=listing.selects if listing.filtered else None,
                                key=listing.selection)
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
                           today=today(svc.clock), total=len(found), only=only or "",
                           categories=values.category, filters=YEAR_FILTERS)


# The year page's choices of `only`, as links (no form needed).
YEAR_FILTERS = (("", "Tất cả"), ("notable", "Theo chỉ thị hoặc năm tròn, năm chẵn"),
                ("round", "Chỉ năm tròn, năm chẵn"), ("designated", "Chỉ ngày chỉ thị nêu tên"))


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
    # Every year from the origin's (a yearly observance: from two years back): the engine
    # says which hold an anniversary. The table shows the nearest ones and the round ones
    # (and any a directive named or whose day was chosen); the rest wait behind a <details>,
    # so a 1955 origin is not seventy rows.
    first = c.origin_year if c.origin_year is not None else now.year - 2
    anniversaries = [occ for y in range(first, now.year + 11)
                     if (occ := occurrence_in(c, y)) is not None]
    nearest = (now.year - NEAREST_BEFORE, now.year + NEAREST_AFTER)
    shown = [o for o in anniversaries if o.is_round or o.designated or o.observed
             or nearest[0] <= o.year <= nearest[1]]
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
                           anniversaries=anniversaries, shown=shown, plan=plan,
                           google=google, today=now, nearest=nearest)
