"""`/admin/reports/<year>`: the year's follow-up report as a printable page (A4 portrait)
and as downloads (`?format=csv|xlsx|json`). Any logged-in account may read it."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template

from ..admin.auth import current_admin, login_required
from ..params import FIRST_YEAR, LAST_YEAR, Choice, Params
from ..web.context import query_args, services
from .models import STATUSES
from .report import FORMATS, build_report, filename, percent

bp = Blueprint("reports", __name__, url_prefix="/admin/reports")

DOWNLOADS = ("csv", "xlsx", "json")
REPORT_PARAMS = Params(format=Choice(DOWNLOADS))


@bp.context_processor
def _globals():
    # The admin layout shows its menu to a logged-in account.
    return {"admin_name": current_admin()}


@bp.get("/<int:year>")
@login_required
def year(year: int):
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404, description=f"Chỉ có báo cáo cho các năm từ {FIRST_YEAR} đến {LAST_YEAR}.")
    chosen = query_args(REPORT_PARAMS).format
    svc = services()
    with svc.database.session() as session:
        report = build_report(session, year, svc.clock.now(), svc.settings.tz)
    if chosen is None:
        response = Response(render_template(
            "admin/reports/year.html", report=report, percent=percent, statuses=STATUSES,
            downloads=DOWNLOADS))
    else:
        fmt = FORMATS[chosen]
        response = Response(fmt.body(report), content_type=fmt.mimetype)
        response.headers["Content-Disposition"] = \
            f'attachment; filename="{filename(year, fmt)}"'
    # Task statuses change all day: never a stale copy from a cache.
    response.headers["Cache-Control"] = "no-store"
    return response
