"""Admin routes: thin handlers over accounts, editing, export and the reminder modules.

Every route except the login page requires a logged-in administrator (`login_required`);
every change is a POST carrying the CSRF token, answered with a redirect (post/redirect/get).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalogue import CATEGORIES
from ..reminders import subscribers as subs
from ..reminders.models import FAILED, PENDING, SENDING, SENT, SKIPPED, SubscriberRow
from ..store.models import CommemorationRow
from ..web.services import no_commemoration, services
from . import audit, editing, export, queries
from .accounts import LOCK_DURATION, MAX_FAILED_ATTEMPTS, authenticate
from .auth import (
    current_admin,
    failed_login_pause,
    log_in,
    log_out,
    login_required,
    safe_next,
)
from .forms import EditForm, LoginForm, ObservanceForm, SubscriberForm
from .models import AuditEntry

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50
DELIVERY_STATUSES = {
    PENDING: "chờ gửi", SENDING: "đang gửi", SENT: "đã gửi", FAILED: "lỗi", SKIPPED: "bỏ qua"}
# One answer for an unknown name, a wrong password and a locked account.
LOGIN_ERROR = (f"Tên đăng nhập hoặc mật khẩu không đúng. Sau {MAX_FAILED_ATTEMPTS} lần sai "
               f"liên tiếp, tài khoản bị tạm khóa {LOCK_DURATION.seconds // 60} phút.")

Change = Callable[[Session, CommemorationRow, str, datetime], audit.Changes]


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        abort(400, description="Tham số page phải là số nguyên dương.")
    return int(raw)


def _who() -> str:
    name = current_admin()
    assert name is not None  # login_required ran first
    return name


@bp.context_processor
def _admin_globals():
    return {"admin_name": current_admin(), "delivery_statuses": DELIVERY_STATUSES,
            "categories": CATEGORIES, "action_labels": audit.ACTION_LABELS}


@bp.app_template_filter("admin_time")
def _admin_time(moment: datetime | None) -> str:
    """A stored UTC moment as local time, dd/mm/yyyy HH:MM."""
    if moment is None:
        return "—"
    return moment.astimezone(services().settings.tz).strftime("%d/%m/%Y %H:%M")


@bp.app_template_filter("audit_field")
def _audit_field(name: str) -> str:
    return audit.field_label(name)


# --- Login ----------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
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
            log_in(user)
    if user is None:
        failed_login_pause()
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
    with services().database.session() as session:
        page = queries.commemorations(session, _page_number(), 100)
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
        current_app.extensions["feed_cache"].invalidate()  # this process sees it at once
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
            changes = change(session, row, _who(), svc.clock.now())
    except editing.EditError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".event", ident=ident))
    return _after_change(ident, changes, done)


@bp.get("/events/<ident>")
@login_required
def event(ident: str):
    return _render_event(ident)


@bp.post("/events/<ident>")
@login_required
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
@login_required
def event_cancel(ident: str):
    return _apply(ident, lambda s, row, who, now: editing.set_cancelled(
        s, row, True, who=who, now=now), "Đã hủy ngày kỷ niệm; lịch đăng ký sẽ ghi là đã hủy.")


@bp.post("/events/<ident>/restore")
@login_required
def event_restore(ident: str):
    return _apply(ident, lambda s, row, who, now: editing.set_cancelled(
        s, row, False, who=who, now=now), "Đã khôi phục ngày kỷ niệm.")


@bp.post("/events/<ident>/observances")
@login_required
def observance_set(ident: str):
    form = ObservanceForm()
    if not form.validate_on_submit():
        for error in form.observed_on.errors:
            flash(error, "error")
        return redirect(url_for(".event", ident=ident))
    day = form.observed_on.data
    return _apply(ident, lambda s, row, who, now: editing.set_observance(
        s, row, day, who=who, now=now), f"Đã đặt ngày tổ chức năm {day.year}.")


@bp.post("/events/<ident>/observances/<int:year>/clear")
@login_required
def observance_clear(ident: str, year: int):
    return _apply(ident, lambda s, row, who, now: editing.clear_observance(
        s, row, year, who=who, now=now), f"Đã xóa ngày tổ chức năm {year}.")


# --- Audit log and export -------------------------------------------------------------

@bp.get("/audit")
@login_required
def audit_log():
    number = _page_number()
    with services().database.session() as session:
        entries, total = audit.page(session, number, PER_PAGE)
    page = queries.Page(entries, total, number, PER_PAGE)
    return render_template("admin/audit.html", page=page)


@bp.get("/export")
@login_required
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
    q = (request.args.get("q") or "").strip()[:200]
    with services().database.session() as session:
        page = queries.subscribers(session, _page_number(), PER_PAGE, q=q or None)
        return render_template("admin/subscribers.html", page=page, q=q, form=form), status


@bp.get("/subscribers")
@login_required
def subscribers():
    return _render_subscribers(SubscriberForm())


@bp.post("/subscribers")
@login_required
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


@bp.get("/subscribers/<int:ident>")
@login_required
def subscriber(ident: int):
    with services().database.session() as session:
        row = session.get(SubscriberRow, ident)
        if row is None:
            abort(404, description="Không có người đăng ký này.")
        page = queries.deliveries(session, _page_number(), PER_PAGE, subscriber_id=ident)
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
                row.active, row.unsubscribed_at = True, None
            else:
                subs.unsubscribe(session, row, now)
            audit.record(session, who=_who(), action="subscriber-" + (
                "reactivate" if active else "deactivate"), at=now, subject=row.email,
                changes=audit.diff({"active": not active}, {"active": active}))
        email = row.email
    flash(f"Đã {'kích hoạt lại' if active else 'ngừng gửi cho'} {email}.")
    return redirect(url_for(".subscriber", ident=ident))


@bp.post("/subscribers/<int:ident>/deactivate")
@login_required
def subscriber_deactivate(ident: int):
    return _set_active(ident, False)


@bp.post("/subscribers/<int:ident>/reactivate")
@login_required
def subscriber_reactivate(ident: int):
    return _set_active(ident, True)


@bp.get("/deliveries")
@login_required
def deliveries():
    status = request.args.get("status") or None
    if status is not None and status not in DELIVERY_STATUSES:
        abort(400, description="Trạng thái không hợp lệ; chọn: "
                               + ", ".join(DELIVERY_STATUSES) + ".")
    with services().database.session() as session:
        page = queries.deliveries(session, _page_number(), PER_PAGE, status=status)
    return render_template("admin/deliveries.html", page=page, status=status)


@bp.post("/deliveries/send")
@login_required
def send_due():
    from ..reminders.tick import run_tick

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
