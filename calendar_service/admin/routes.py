"""Admin routes: thin handlers over accounts, editing, export and the reminder modules.

Every route except the login page requires a logged-in account; every page here but the
home page (which sends a member of an agency on to its tasks) and logout is an
administrator's (`admin_required`: a member gets 403). Every change is a POST carrying the
CSRF token, answered with a redirect (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

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
from sqlalchemy.orm import Session

from ..catalogue import CATEGORIES
from ..delivery.models import FAILED, PENDING, SENDING, SENT, SKIPPED
from ..feeds.publish import Publisher
from ..params import Choice, Integer, Params, Text
from ..plans.generate import follow_catalogue
from ..reminders import subscribers as subs
from ..reminders.models import SubscriberRow
from ..reminders.tick import run_tick
from ..store import audit
from ..store.audit import AuditEntry
from ..store.models import CommemorationRow
from ..store.paging import Page
from ..vietnamese import official_datetime
from ..web.context import no_commemoration, query_args, services
from ..web.limits import Rate, failed, form_value, limited
from . import editing, export, queries
from .accounts import LOCK_DURATION, MAX_FAILED_ATTEMPTS, authenticate, normalise_username
from .auth import (
    admin_required,
    current_account,
    current_admin,
    layout_context,
    log_in,
    log_out,
    login_required,
    safe_next,
)
from .forms import EditForm, LoginForm, ObservanceForm, SubscriberForm

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
DELIVERY_STATUSES = {
    PENDING: "chờ gửi", SENDING: "đang gửi", SENT: "đã gửi", FAILED: "lỗi", SKIPPED: "bỏ qua"}
# One answer for an unknown name, a wrong password and a locked account.
LOGIN_ERROR = (f"Tên đăng nhập hoặc mật khẩu không đúng. Sau {MAX_FAILED_ATTEMPTS} lần sai "
               f"liên tiếp, tài khoản bị tạm khóa {LOCK_DURATION.seconds // 60} phút.")

# Password guessing, without holding a worker: a few attempts per client, and a few failed
# ones per user name from anywhere — an unknown name too, so spraying is limited as well
# (a known one is also locked after MAX_FAILED_ATTEMPTS, accounts.py).
LOGIN_LIMITS = (
    Rate("10 per minute;50 per hour", "login",
         "Quá nhiều lần đăng nhập từ máy này. Vui lòng thử lại sau."),
    Rate("10 per 15 minutes", "login-name",
         "Tên đăng nhập này vừa bị thử sai quá nhiều lần. Vui lòng thử lại sau.",
         key=form_value("username", normalise_username), counts=failed),
)

Change = Callable[[Session, CommemorationRow, str, datetime], audit.Changes]


# The query parameters of the admin lists (calendar_service/params.py).
PAGE = Integer(1, 100_000, default=1)
LIST_PARAMS = Params(page=PAGE)
SUBSCRIBER_PARAMS = Params(page=PAGE, q=Text(200))
DELIVERY_PARAMS = Params(page=PAGE, status=Choice(DELIVERY_STATUSES))


def _who() -> str:
    name = current_admin()
    assert name is not None  # login_required ran first
    return name


@bp.context_processor
def _admin_globals():
    return {**layout_context(), "delivery_statuses": DELIVERY_STATUSES,
            "categories": CATEGORIES, "action_labels": audit.ACTION_LABELS}


@bp.app_template_filter("admin_time")
def _admin_time(moment: datetime | None) -> str:
    """A stored UTC moment as local time: 22/12/2024 08:00."""
    if moment is None:
        return "—"
    return official_datetime(moment.astimezone(services().settings.tz))


@bp.app_template_filter("audit_field")
def _audit_field(name: str) -> str:
    return audit.field_label(name)


# --- Login ----------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@limited(*LOGIN_LIMITS)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
        if current_admin() is not None:
            return redirect(form.next.data or url_for(".index"))
        return render_template("admin/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("admin/login.html", form=form), 400
    svc = services()
    with svc.database.session() as session:
        user = authenticate(session, form.username.data, form.password.data, svc.clock.now())
        if user is not None:
            log_in(session, user)
    if user is None:
        return render_template("admin/login.html", form=form, error=LOGIN_ERROR), 200
    return redirect(safe_next(form.next.data) or url_for(".index"))


@bp.post("/logout")
@login_required
def logout():
    log_out()
    flash("Đã đăng xuất.")
    return redirect(url_for(".login"))


# --- Commemorations -------------------------------------------------------------------

@bp.get("/")
@login_required
def index():
    account = current_account()
    if account is not None and not account.is_administrator:
        return redirect(url_for("plans.tasks"))  # a member's home: its agency's tasks
    with services().database.session() as session:
        page = queries.commemorations(session, query_args(LIST_PARAMS).page, 100)
    return render_template("admin/index.html", page=page)


def _edit_form(row: CommemorationRow) -> EditForm:
    return EditForm(data={
        "revision": row.revision, "title": row.title, "description": row.description,
        "location": row.location or "", "note": row.note or "",
        "lead_days": ", ".join(str(d) for d in row.lead_days or [])})


def _render_event(ident: str, form: EditForm | None = None, status: int = 200):
    with services().database.session() as session:
        row = session.get(CommemorationRow, ident)
        if row is None:
            abort(404, description=no_commemoration(ident))
        history = list(session.scalars(
            select(AuditEntry).where(AuditEntry.commemoration_id == ident)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(20)))
        return render_template(
            "admin/event.html", row=row, form=form or _edit_form(row), history=history,
            observance_form=ObservanceForm()), status


def _after_change(ident: str, changes: audit.Changes, done: str):
    if changes:
        services().watch.invalidate()  # this process's caches see it at once
        # The static feed files too, in the background (nothing when none are published).
        services().shared(Publisher).soon()
        flash(done)
    else:
        flash("Không có thay đổi nào.")
    return redirect(url_for(".event", ident=ident))


def _apply(ident: str, change: Change, done: str):
    """Run one change on the locked row; EditError becomes a flashed message."""
    svc = services()
    try:
        with svc.database.session() as session:
            row = editing.row_for_update(session, ident)
            if row is None:
                abort(404, description=no_commemoration(ident))
            now = svc.clock.now()
            changes = change(session, row, _who(), now)
            if changes:
                # Open tasks follow: a new observance day moves them, a cancellation
                # cancels them (in the same transaction).
                follow_catalogue(session, now, commemoration_id=ident)
    except editing.EditError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".event", ident=ident))
    return _after_change(ident, changes, done)


@bp.get("/events/<ident>")
@admin_required
def event(ident: str):
    return _render_event(ident)


@bp.post("/events/<ident>")
@admin_required
def event_save(ident: str):
    form = EditForm()
    if not form.validate_on_submit():
        return _render_event(ident, form, 400)
    fields = editing.Fields.parse(
        title=form.title.data, description=form.description.data,
        location=form.location.data, note=form.note.data, lead_days=form.lead_days.data)
    try:
        return _apply(ident, lambda s, row, who, now: editing.save_fields(
            s, row, fields, who=who, now=now, expected_revision=form.revision.data),
            "Đã lưu thay đổi.")
    except editing.EditConflict:
        flash("Ngày kỷ niệm này vừa được thay đổi (bởi người khác hoặc khi nạp danh mục) "
              "trong lúc bạn sửa. Dưới đây là bản mới nhất; vui lòng sửa lại.", "error")
        return redirect(url_for(".event", ident=ident))


@bp.post("/events/<ident>/cancel")
@admin_required
def event_cancel(ident: str):
    return _apply(ident, lambda s, row, who, now: editing.set_cancelled(
        s, row, True, who=who, now=now), "Đã hủy ngày kỷ niệm; lịch đăng ký sẽ ghi là đã hủy.")


@bp.post("/events/<ident>/restore")
@admin_required
def event_restore(ident: str):
    return _apply(ident, lambda s, row, who, now: editing.set_cancelled(
        s, row, False, who=who, now=now), "Đã khôi phục ngày kỷ niệm.")


@bp.post("/events/<ident>/observances")
@admin_required
def observance_set(ident: str):
    form = ObservanceForm()
    if not form.validate_on_submit():
        for error in form.observed_on.errors:
            flash(error, "error")
        return redirect(url_for(".event", ident=ident))
    day = form.observed_on.data
    return _apply(ident, lambda s, row, who, now: editing.set_observance(
        s, row, day, who=who, now=now), f"Đã đặt ngày tổ chức năm {day.year}.")


@bp.post("/events/<ident>/observances/<int32:year>/clear")
@admin_required
def observance_clear(ident: str, year: int):
    return _apply(ident, lambda s, row, who, now: editing.clear_observance(
        s, row, year, who=who, now=now), f"Đã xóa ngày tổ chức năm {year}.")


# --- Audit log and export -------------------------------------------------------------

@bp.get("/audit")
@admin_required
def audit_log():
    number = query_args(LIST_PARAMS).page
    with services().database.session() as session:
        entries, total = audit.page(session, number, PER_PAGE)
    page = Page(entries, total, number, PER_PAGE)
    return render_template("admin/audit.html", page=page)


@bp.get("/export")
@admin_required
def export_catalogue():
    svc = services()
    now = svc.clock.now()
    try:
        with svc.database.session() as session:
            files = export.export_files(session, now)
    except export.ExportError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    download = export.download(files, now)
    response = Response(download.body, mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- Subscribers and deliveries -------------------------------------------------------

def _render_subscribers(form: SubscriberForm, status: int = 200):
    args = query_args(SUBSCRIBER_PARAMS)
    q = args.q
    with services().database.session() as session:
        page = queries.subscribers(session, args.page, PER_PAGE, q=q or None)
        return render_template("admin/subscribers.html", page=page, q=q, form=form), status


@bp.get("/subscribers")
@admin_required
def subscribers():
    return _render_subscribers(SubscriberForm())


@bp.post("/subscribers")
@admin_required
def subscriber_add():
    svc = services()
    form = SubscriberForm()
    if not form.validate_on_submit():
        return _render_subscribers(form, 400)
    try:
        new = subs.NewSubscriber.parse(
            form.email.data, name=form.name.data, organisation=form.organisation.data,
            categories=form.categories.data, scope=form.scope.data,
            lead_days=editing.parse_lead_days(form.lead_days.data),
            webhook_url=form.webhook.data or None)
        with svc.database.session() as session:
            now = svc.clock.now()
            subs.add(session, new, now)  # an administrator's add is confirmed at once
            audit.record(session, who=_who(), action="subscriber-add", at=now,
                         subject=new.email, changes=audit.diff({}, {
                             "name": new.name, "organisation": new.organisation,
                             "categories": new.categories, "scope": new.scope,
                             "lead_days": new.lead_days, "active": True}))
    except subs.SubscriberError as exc:
        form.email.errors = [*form.email.errors, str(exc)]
        return _render_subscribers(form, 400)
    flash(f"Đã thêm người nhận {new.email}.")
    return redirect(url_for(".subscribers"))


@bp.get("/subscribers/<int32:ident>")
@admin_required
def subscriber(ident: int):
    with services().database.session() as session:
        row = session.get(SubscriberRow, ident)
        if row is None:
            abort(404, description="Không có người đăng ký này.")
        page = queries.deliveries(session, query_args(LIST_PARAMS).page, PER_PAGE,
                                  subscriber_id=ident)
        return render_template("admin/subscriber.html", row=row, page=page)


def _set_active(ident: int, active: bool):
    svc = services()
    with svc.database.session() as session:
        row = session.get(SubscriberRow, ident, with_for_update=True)
        if row is None:
            abort(404, description="Không có người đăng ký này.")
        if row.active != active:
            now = svc.clock.now()
            if active:
                subs.reactivate_by_admin(session, row)
            else:  # the administrator's decision: no confirmation link undoes it
                subs.deactivate_by_admin(session, row, _who(), now)
            audit.record(session, who=_who(), action="subscriber-" + (
                "reactivate" if active else "deactivate"), at=now, subject=row.email,
                changes=audit.diff({"active": not active}, {"active": active}))
        email = row.email
    flash(f"Đã {'kích hoạt lại' if active else 'ngừng gửi cho'} {email}.")
    return redirect(url_for(".subscriber", ident=ident))


@bp.post("/subscribers/<int32:ident>/deactivate")
@admin_required
def subscriber_deactivate(ident: int):
    return _set_active(ident, False)


@bp.post("/subscribers/<int32:ident>/reactivate")
@admin_required
def subscriber_reactivate(ident: int):
    return _set_active(ident, True)


@bp.get("/deliveries")
@admin_required
def deliveries():
    args = query_args(DELIVERY_PARAMS)
    status = args.status
    with services().database.session() as session:
        page = queries.deliveries(session, args.page, PER_PAGE, status=status)
    return render_template("admin/deliveries.html", page=page, status=status)


@bp.post("/deliveries/send")
@admin_required
def send_due():
    svc = services()
    try:
        report = run_tick(svc)
    except ValueError as exc:  # a bad CALENDAR_MAIL_URL
        flash(f"Không gửi được: {exc}", "error")
        return redirect(url_for(".deliveries"))
    d = report.dispatch
    assert d is not None  # not a dry run
    counts = {"sent": d.sent.total, "skipped": d.skipped.total + report.plan.skipped,
              "retrying": d.retrying.total, "failed": d.failed.total}
    with svc.database.session() as session:
        audit.record(session, who=_who(), action="send-now", at=svc.clock.now(),
                     changes={k: {"before": None, "after": v} for k, v in counts.items()})
    flash(f"Đã gửi {counts['sent']} thư nhắc; bỏ qua {counts['skipped']}; "
          f"chờ gửi lại {counts['retrying']}; lỗi {counts['failed']}.",
          "error" if counts["failed"] else "message")
    return redirect(url_for(".deliveries"))
