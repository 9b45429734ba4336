"""GET /: the commemorations of the next 90 days, grouped by month, filterable, searchable."""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, abort, current_app, render_template, request

from ..catalogue import CATEGORIES
from ..clock import today
from .listing import Listing, ListingError
from .services import services

bp = Blueprint("home", __name__)

WINDOW_DAYS = 90

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
        days = 366 if request.args.get("q", "").strip() else WINDOW_DAYS
        listing = Listing.from_args(request.args, now, default_days=days)
    except ListingError as exc:
        abort(400, description=str(exc))
    page, total = listing.run(current_app.extensions["listing_index"])
    groups = [(month_label(k), list(v)) for k, v in groupby(page, key=month_key)]
    pages = max(1, -(-total // listing.per_page))
    return render_template("home.html", listing=listing, groups=groups, total=total,
                           pages=pages, today=now, categories=CATEGORIES)
