"""GET /api/events, /api/events/<id>, /api/categories and /api/openapi.json."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import drafting
from ..anniversaries import next_occurrence
from ..catalogue import CATEGORIES
from ..clock import today
from ..listing import Listing, ListingError
from ..output import designation_dict, lunar_origin_dict, occurrence_dict
from ..params import FIRST_YEAR, LAST_YEAR, Integer, ParamError, Params
from ..store import get_commemoration
from ..web.context import services
from ..web.errors import problem
from . import openapi

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    response = problem(exc.code or 500, exc.name, exc.description or exc.name)
    for name, value in exc.get_headers():  # e.g. Allow on a 405
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _occurrence(occ, base: str) -> dict:
    return {**occurrence_dict(occ), "url": f"{base}/events/{occ.id}"}


@bp.get("/events")
def events():
    svc = services()
    try:
        listing = Listing.from_args(request.args, today(svc.clock), default_days=366,
                                    strict=True)
    except ListingError as exc:
        return problem(400, "Bad Request", str(exc))
    page, total = listing.run(svc.listing)
    base = svc.settings.base_url
    return jsonify(items=[_occurrence(o, base) for o in page], page=listing.page,
                   per_page=listing.per_page, total=total, **{
                       "from": listing.start.isoformat(), "to": listing.end.isoformat()})


@bp.get("/events/<ident>")
def event(ident: str):
    svc = services()
    with svc.database.session() as session:
        stored = get_commemoration(session, ident)
    if stored is None:
        return problem(404, "Not Found", f"No commemoration {ident!r}.")
    c = stored.commemoration
    base = svc.settings.base_url
    upcoming = None if stored.cancelled else next_occurrence(c, today(svc.clock))
    return jsonify(
        id=c.id, title=c.title, category=c.category, scope=c.scope,
        origin=c.origin_key, origin_year=c.origin_year, lunar=lunar_origin_dict(c),
        precision=str(c.precision), description=c.description, location=c.location,
        location_today=svc.renames.today(c.location, today(svc.clock)),
        designations=[designation_dict(d) for d in c.designations],
        source=c.source, note=c.note, aliases=list(c.aliases), status=stored.status,
        revision=stored.revision, updated_at=stored.updated_at.isoformat(),
        next=_occurrence(upcoming, base) if upcoming else None,
        url=f"{base}/events/{c.id}", ics=f"{base}/events/{c.id}.ics")


SUGGEST_PARAMS = Params(year=Integer(FIRST_YEAR, LAST_YEAR))


@bp.get("/suggest")
def suggest():
    """The round anniversaries of a year, ranked and phrased for the directive's draft
    (`calendar-service suggest`); the year defaults to next year."""
    svc = services()
    try:
        values = SUGGEST_PARAMS.parse(request.args, strict=True)
    except ParamError as exc:
        return problem(400, "Bad Request", str(exc))
    year = values.year or today(svc.clock).year + 1
    found, _ = svc.listing.page(date(year, 1, 1), date(year, 12, 31))
    suggestions = drafting.suggest(found, year)
    base = svc.settings.base_url
    return jsonify(year=year, heading=drafting.heading(year),
                   paragraph=drafting.paragraph(suggestions),
                   items=[{"rank": n, "text": s.text, "scope": s.scope,
                           "occurrence": _occurrence(s.occurrence, base)}
                          for n, s in enumerate(suggestions, 1)])


@bp.get("/categories")
def categories():
    return jsonify([{"slug": c.slug, "label": c.label, "description": c.description,
                     "lead_days": list(c.lead_days), "lead_days_round": list(c.lead_days_round)}
                    for c in CATEGORIES.values()])


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(services().settings.base_url))
