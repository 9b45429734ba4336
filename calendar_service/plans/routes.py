"""The plans in the admin area, and each agency's private task feed.

- /admin/plans/<Y>: the year's plan grid (occurrences × agencies); an administrator can
  generate an empty year's tasks and add a task by hand;
- /admin/tasks: an agency's tasks (a member: its own; an administrator: any, or all);
- /admin/tasks/<id>: one task, its status, result links, note and audit trail;
- /agencies/<agency>/<token>/tasks.ics: the agency's task due dates as a calendar.

Who may do what is decided here, on the server (admin/auth.py gives the account): every
signed-in account sees every plan; a member of an agency changes only its agency's tasks
(403 otherwise, whatever the page showed); only an administrator generates, adds and
removes tasks. Changes go through tasks.py and generate.py, as the command line's do.
"""

from __future__ import annotations

import hmac
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..admin.auth import Account, admin_required, current_account, layout_context, login_required
from ..anniversaries import Occurrence, occurrence_in
from ..catalogue import ACTIVITY_KINDS, CATEGORIES
from ..clock import today
from ..params import FIRST_YEAR, LAST_YEAR, Choice, Flag, Integer, Params, Text
from ..store import audit
from ..store.audit import AuditEntry
from ..store.models import AgencyRow, CommemorationRow
from ..store.paging import Page
from ..store.queries import agencies as stored_agencies
from ..store.queries import occurrences_of_year, to_value
from ..vietnamese import official_date
from ..web.context import query_args, services
from ..web.forms import ASCII_DAY
from . import feed
from . import grid as plan_grid
from . import tasks as task_ops
from .forms import STALE_FORM, ManualTaskForm, RemoveLinkForm, TaskForm
from .generate import generate, task_subject
from .models import STATUSES, TaskRow

bp = Blueprint("plans", __name__)

YEAR = f"int32(min={FIRST_YEAR}, max={LAST_YEAR})"
PER_PAGE = 50
STATUS_FILTERS = {task_ops.OPEN_STATUSES: "Chưa xong (chưa làm, đang làm)", **STATUSES}
GRID_PARAMS = Params(agency=Text(80), status=Choice(STATUS_FILTERS), overdue=Flag(),
                     category=Choice(CATEGORIES), page=Integer(1, 100_000, default=1))
TASKS_PARAMS = Params(agency=Text(80), status=Choice([*STATUS_FILTERS, "all"],
                                                     default=task_ops.OPEN_STATUSES),
                      year=Integer(FIRST_YEAR, LAST_YEAR), overdue=Flag(),
                      page=Integer(1, 100_000, default=1))
NO_TASK = "Không có việc này."
# One answer for an unknown agency, an agency no longer in use and a wrong token.
NO_FEED = "Không có lịch này. Địa chỉ có thể đã được đổi: hỏi quản trị viên địa chỉ mới."


@bp.context_processor
def _globals():
    return {**layout_context(), "statuses": STATUSES, "status_filters": STATUS_FILTERS,
            "kinds": ACTIVITY_KINDS, "kind_short": plan_grid.KIND_SHORT, "categories": CATEGORIES,
            "action_labels": audit.ACTION_LABELS}



def _account() -> Account:
    account = current_account()
    assert account is not None  # login_required ran first
    return account


def _today() -> date:
    return today(services().clock)


def _agency_param(session: Session, value: str) -> str | None:
    """An agency filter: "" is none; an unknown id is a 400 that names it."""
    if not value:
        return None
    if session.get(AgencyRow, value) is None:
        abort(400, description=f"Tham số agency={value!r}: không có cơ quan này.")
    return value


# --- The year's plan ------------------------------------------------------------------

@bp.get("/admin/plans/")
@login_required
def this_year():
    return redirect(url_for(".grid", year=_today().year))


@bp.get(f"/admin/plans/<{YEAR}:year>")
@login_required
def grid(year: int):
    args = query_args(GRID_PARAMS)
    with services().database.session() as session:
        f = plan_grid.GridFilter(agency=_agency_param(session, args.agency),
                                 status=args.status, overdue=args.overdue,
                                 category=args.category)
        plan = plan_grid.build(session, year, _today(), f, services().listing, args.page)
        return render_template("admin/plans/grid.html", plan=plan, f=f,
                               agencies=stored_agencies(session), account=_account())


@bp.post(f"/admin/plans/<{YEAR}:year>/generate")
@admin_required
def generate_year(year: int):
    """Create the year's tasks from the plan templates (idempotent, like the command)."""
    svc = services()
    try:
        with svc.database.session() as session:
            report = generate(session, year, svc.clock.now())
    except IntegrityError:  # the scheduler generated the same year at the same moment
        flash("Các việc của năm này vừa được tạo cùng lúc ở nơi khác; vui lòng tải lại "
              "trang.", "error")
        return redirect(url_for(".grid", year=year))
    if report.added or report.changed or report.cancelled:
        flash(f"Năm {year}: đã tạo {len(report.added)} việc, cập nhật "
              f"{len(report.changed)}, hủy {len(report.cancelled)}.")
    else:
        flash(f"Năm {year}: kế hoạch mẫu không có việc nào cho các ngày kỷ niệm của năm "
              "này (hoặc các việc đã có đủ).")
    return redirect(url_for(".grid", year=year))


# --- Tasks ----------------------------------------------------------------------------

@bp.get("/admin/tasks")
@login_required
def tasks():
    args = query_args(TASKS_PARAMS)
    account = _account()
    day = _today()
    with services().database.session() as session:
        agency = account.agency_id or _agency_param(session, args.agency)
        status = None if args.status == "all" else args.status
        f = task_ops.TaskFilter(year=args.year, agency=agency, status=status,
                                overdue=args.overdue)
        rows, total = task_ops.page(session, f, day, args.page, PER_PAGE)
        every = stored_agencies(session, include_inactive=True)
        shown = next((a for a in every if a.id == agency and a.active), None)
        return render_template(
            "admin/plans/tasks.html", page=Page(rows, total, args.page, PER_PAGE), f=f,
            args=args, names={a.id: a.short for a in every},
            agencies=[a for a in every if a.active], today=day, account=account,
            # The agency's private calendar: shown to its members and to administrators.
            feed_url=feed.address(services().settings.base_url, shown) if shown else None)


def _task_or_404(session: Session, ident: int, *, for_update: bool = False) -> TaskRow:
    task = (session.get(TaskRow, ident, with_for_update=True) if for_update
            else session.get(TaskRow, ident))
    if task is None:
        abort(404, description=NO_TASK)
    return task


def _occurrence(session: Session, task: TaskRow) -> Occurrence | None:
    row = session.get(CommemorationRow, task.commemoration_id)
    return occurrence_in(to_value(row), task.year) if row is not None else None


def _render_task(ident: int, form: TaskForm | None = None, error: str | None = None,
                 status: int = 200):
    account = _account()
    with services().database.session() as session:
        task = _task_or_404(session, ident)
        agencies = {a.id: a for a in stored_agencies(session, include_inactive=True)}
        history = list(session.scalars(
            select(AuditEntry).where(AuditEntry.commemoration_id == task.commemoration_id,
                                     AuditEntry.subject == task_subject(task.id))
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(100)))
        if form is None:
            form = TaskForm(data={"revision": task.revision, "status": task.status,
                                  "note": task.note or ""})
        return render_template(
            "admin/plans/task.html", task=task, occ=_occurrence(session, task),
            agencies=agencies, history=history, form=form, error=error,
            may_change=account.may_change(task.agency_id), account=account,
            overdue=task.overdue(_today())), status


@bp.get("/admin/tasks/<int32:ident>")
@login_required
def task(ident: int):
    return _render_task(ident)


def _refuse(session: Session, task: TaskRow, account: Account) -> None:
    """A member changing another agency's task: 403, whatever the page offered."""
    if not account.may_change(task.agency_id):
        agency = session.get(AgencyRow, task.agency_id)
        abort(403, description=f"Việc này do {agency.short if agency else task.agency_id} "
                               f"chủ trì; tài khoản của {account.agency_short} chỉ thay đổi "
                               "được việc của cơ quan mình.")


def _form_error(form) -> str:
    """What the page says of a form that did not validate: a field's own message (a value
    too long, say), or that the page is stale (no token, no revision)."""
    return next((error for name, errors in form.errors.items()
                 if name not in ("csrf_token", "revision") for error in errors), STALE_FORM)


@bp.post("/admin/tasks/<int32:ident>")
@login_required
def task_save(ident: int):
    account = _account()
    form = TaskForm()
    if not form.validate_on_submit():
        with services().database.session() as session:
            _refuse(session, _task_or_404(session, ident), account)
        return _render_task(ident, form, _form_error(form), 400)
    svc = services()
    try:
        with svc.database.session() as session:
            task = _task_or_404(session, ident, for_update=True)
            _refuse(session, task, account)
            if form.revision.data != task.revision:
                flash("Việc này vừa được thay đổi (bởi người khác hoặc theo kế hoạch mẫu) "
                      "trong lúc bạn sửa. Dưới đây là bản mới nhất; vui lòng làm lại.", "error")
                return redirect(url_for(".task", ident=ident))
            link = (form.link.data or "").strip()
            changes = task_ops.update(
                session, task, who=account.username, now=svc.clock.now(),
                status=form.status.data, add_links=[link] if link else [],
                note=form.note.data or "", set_note=True)
    except task_ops.TaskError as exc:
        return _render_task(ident, form, str(exc), 400)
    flash("Đã lưu." if changes else "Không có thay đổi nào.")
    return redirect(url_for(".task", ident=ident))


@bp.post("/admin/tasks/<int32:ident>/links/remove")
@login_required
def link_remove(ident: int):
    account = _account()
    form = RemoveLinkForm()
    svc = services()
    with svc.database.session() as session:
        task = _task_or_404(session, ident, for_update=True)
        _refuse(session, task, account)
        if not form.validate_on_submit() or form.link.data not in task.links:
            flash("Không có liên kết này (có thể vừa được gỡ).", "error")
            return redirect(url_for(".task", ident=ident))
        task_ops.update(session, task, who=account.username, now=svc.clock.now(),
                        remove_links=[form.link.data])
    flash("Đã gỡ liên kết.")
    return redirect(url_for(".task", ident=ident))


@bp.post("/admin/tasks/<int32:ident>/remove")
@admin_required
def task_remove(ident: int):
    svc = services()
    try:
        with svc.database.session() as session:
            task = _task_or_404(session, ident, for_update=True)
            year = task.year
            task_ops.remove_manual(session, task, who=_account().username,
                                   now=svc.clock.now())
    except task_ops.TaskError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".task", ident=ident))
    flash("Đã xóa việc.")
    return redirect(url_for(".grid", year=year))


# --- A task added by hand -------------------------------------------------------------

def _manual_choices(session: Session, form: ManualTaskForm, year: int) -> list[Occurrence]:
    found = occurrences_of_year(session, year)
    form.commemoration.choices = [
        (o.id, f"{official_date(o.date) if o.date else 'Chưa xác định ngày'} — {o.title}")
        for o in found]
    form.agency.choices = [(a.id, a.short) for a in stored_agencies(session)]
    return found


def _render_new(year: int, form: ManualTaskForm, error: str | None = None, status: int = 200):
    with services().database.session() as session:
        _manual_choices(session, form, year)
        return render_template("admin/plans/task_new.html", year=year, form=form,
                               error=error), status


@bp.get(f"/admin/plans/<{YEAR}:year>/tasks/new")
@admin_required
def task_new(year: int):
    args = query_args(Params(commemoration=Text(80), agency=Text(80)))
    form = ManualTaskForm(data={"commemoration": args.commemoration, "agency": args.agency})
    return _render_new(year, form)


@bp.post(f"/admin/plans/<{YEAR}:year>/tasks/new")
@admin_required
def task_add(year: int):
    form = ManualTaskForm()
    if not form.validate_on_submit():
        return _render_new(year, form, _form_error(form), 400)
    due = None
    if (text := (form.due.data or "").strip()):
        try:
            if not ASCII_DAY.fullmatch(text):  # fromisoformat would read other digits too
                raise ValueError(text)
            due = date.fromisoformat(text)
        except ValueError:
            return _render_new(year, form, "Hạn không hợp lệ (dạng YYYY-MM-DD).", 400)
    svc = services()
    try:
        with svc.database.session() as session:
            task = task_ops.add_manual(
                session, commemoration_id=form.commemoration.data or "", year=year,
                kind=form.kind.data or "", agency_id=form.agency.data or "",
                title=form.title.data or "", due=due, who=_account().username,
                now=svc.clock.now())
            ident = task.id
    except task_ops.TaskError as exc:
        return _render_new(year, form, str(exc), 400)
    flash("Đã thêm việc.")
    return redirect(url_for(".task", ident=ident))


# --- The agency's private task feed ---------------------------------------------------

@bp.get("/agencies/<agency_id>/<token>/tasks.ics")
def agency_feed(agency_id: str, token: str):
    """The agency's task due dates. The secret in the address is the only key: a wrong
    one and an unknown (or no longer used) agency get the same 404."""
    svc = services()
    with svc.database.session() as session:
        agency = session.get(AgencyRow, agency_id)
        expected = agency.feed_token if agency is not None and agency.active else ""
        # Compared in constant time, and compared even when there is nothing to match.
        matches = hmac.compare_digest(token.encode(), (expected or "\x00" * 32).encode())
        if agency is None or not expected or not matches:
            abort(404, description=NO_FEED)
        years = feed.window(today(svc.clock))
        rows = list(session.scalars(select(TaskRow).where(
            TaskRow.agency_id == agency_id, TaskRow.year.between(*years))))
        names = {a.id: a.name for a in stored_agencies(session, include_inactive=True)}
        site = feed.FeedSite(svc.settings.base_url, svc.settings.timezone,
                             svc.settings.feed_refresh)
        body = feed.build(agency, rows, names, site, years)
        modified = feed.last_modified(agency, rows)
    response = Response(body, content_type=feed.CONTENT_TYPE)
    response.set_etag(feed.etag(body))
    response.last_modified = modified
    # Private: no cache may keep it (its address is the secret). Calendar clients keep
    # their own copy and still get a 304 on If-None-Match.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Disposition"] = f'inline; filename="{agency_id}-tasks.ics"'
    return response.make_conditional(request)
