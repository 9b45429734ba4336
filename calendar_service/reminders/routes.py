"""Self-service sign-up with double opt-in, and one-click unsubscribe — no login needed.

GET on a link never changes anything (corporate link scanners open every link): it shows a
page with one button, and the POST does the work. The unsubscribe POST also accepts a mail
client's RFC 8058 one-click request, which carries no CSRF token: the signed token in the
URL is the proof, so that route is exempt from CSRF.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, url_for

from ..catalogue import CATEGORIES
from ..feeds.links import feed_url, google_subscribe_url, webcal_url
from ..store import audit
from ..web.context import services
from ..web.limits import Rate, accepted, everyone, limited
from ..web.security import csrf
from .confirmations import ConfirmationMailer
from .delivering import UNSUBSCRIBE
from .forms import SignupForm
from .models import SubscriberRow
from .subscribers import NewSubscriber, SubscriberError, sign_up, unsubscribe
from .subscribers import confirm as confirm_subscriber
from .tokens import make_confirm_token, read_confirm_token, read_token, sent_matches

bp = Blueprint("reminders", __name__)

CONFIRM = "confirm"
# One confirmation e-mail per address in this time, however often the form is posted: the
# form cannot be used to flood someone's mailbox. The page says the same either way.
CONFIRM_COOLDOWN = timedelta(minutes=10)
# However many addresses are typed in: a few sign-ups per client, and a ceiling for the
# whole site (only forms that were taken count towards it), so the form is no mail cannon.
SIGNUP_LIMITS = (
    Rate("5 per hour;20 per day", "signup",
         "Bạn đã gửi biểu mẫu đăng ký nhiều lần. Vui lòng thử lại sau."),
    Rate("200 per hour", "signup-all",
         "Hệ thống đang nhận quá nhiều yêu cầu đăng ký. Vui lòng thử lại sau ít phút.",
         key=everyone, counts=accepted),
)
# The audit log's "who" of a confirmation: the person, through the e-mailed link.
BY_LINK = "(liên kết xác nhận)"
STOPPED_BY_ADMIN = ("Quản trị viên đã ngừng gửi thư cho địa chỉ này; liên kết xác nhận không "
                    "bật lại được. Vui lòng liên hệ quản trị viên.")
USED = ("Liên kết xác nhận này đã được dùng hoặc đã có liên kết mới hơn. Nếu vẫn muốn nhận "
        "thư nhắc, hãy đăng ký lại.")


def _confirming(session, token: str) -> tuple[SubscriberRow, int]:
    """The subscriber a confirmation link names, and the moment the link was sent."""
    svc = services()
    found = read_confirm_token(svc.settings.secret_keys, CONFIRM, token, svc.clock.now())
    if found is None:
        abort(404, description="Liên kết xác nhận không hợp lệ hoặc đã hết hạn.")
    row = _row(session, found[0], found[1], "xác nhận")
    if row.deactivated_by is not None:
        abort(403, description=STOPPED_BY_ADMIN)
    return row, found[2]


def _unsubscribing(session, token: str) -> SubscriberRow:
    found = read_token(services().settings.secret_keys, UNSUBSCRIBE, token)
    if found is None:
        abort(404, description="Liên kết hủy đăng ký không hợp lệ hoặc đã hết hạn.")
    return _row(session, found[0], found[1], "hủy đăng ký")


def _row(session, ident: int, email: str, what: str) -> SubscriberRow:
    row = session.get(SubscriberRow, ident)
    if row is None or row.email.lower() != email:
        abort(404, description=f"Liên kết {what} không còn hiệu lực.")
    return row


# --- Sign-up ------------------------------------------------------------------------

def render_subscribe(form: SignupForm | None = None) -> str:
    """How to subscribe: the feed addresses, then the reminder sign-up form."""
    base = services().settings.base_url
    # The notable feed first: what departments need in every year (a directive's days, or
    # a round anniversary), never empty in a year no directive covers. The old
    # ?designated=1 address keeps working for those who subscribed to it.
    feeds = [{"label": "Các ngày cần chú ý: theo chỉ thị hoặc năm tròn, năm chẵn "
                       "(khuyên dùng cho các phòng, ban)",
              "https": feed_url(base, notable="1"), "webcal": webcal_url(base, notable="1"),
              "google": google_subscribe_url(base, notable="1"), "recommended": True},
             {"label": "Tất cả ngày kỷ niệm", "https": feed_url(base),
              "webcal": webcal_url(base), "google": google_subscribe_url(base)}]
    for slug, cat in CATEGORIES.items():
        feeds.append({"label": f"Nhóm: {cat.label}", "https": feed_url(base, category=slug),
                      "webcal": webcal_url(base, category=slug),
                      "google": google_subscribe_url(base, category=slug)})
    return render_template("subscribe.html", feeds=feeds, form=form or SignupForm())


@bp.get("/subscribe")
def subscribe():
    return render_subscribe()


@bp.post("/subscribe")
@limited(*SIGNUP_LIMITS)
def signup():
    svc = services()
    form = SignupForm()
    if not form.validate_on_submit():
        return render_subscribe(form), 400
    try:
        new = NewSubscriber.parse(
            form.email.data, name=form.name.data, organisation=form.organisation.data,
            categories=form.categories.data, scope=form.scope.data)
    except SubscriberError as exc:
        form.email.errors = [*form.email.errors, str(exc)]
        return render_subscribe(form), 400
    now = svc.clock.now()
    with svc.database.session() as session:
        claim = sign_up(session, new, now, CONFIRM_COOLDOWN)
    if claim is not None:
        token = make_confirm_token(svc.settings.secret_key, CONFIRM, claim.subscriber_id,
                                   claim.email, claim.sent_at, now)
        # The base URL of the settings, never the request's Host header.
        confirm_url = f"{svc.settings.base_url}{url_for('reminders.confirm', token=token)}"
        svc.shared(ConfirmationMailer).send(claim, confirm_url)
    # The same answer, at once, whether or not the address was known or a message is on its
    # way: neither the page nor its timing discloses an address.
    return redirect(url_for("reminders.sent"))


@bp.get("/subscribe/sent")
def sent():
    return render_template("subscribe_sent.html")


@bp.get("/subscribe/confirm/<token>")
def confirm(token: str):
    svc = services()
    with svc.database.session() as session:
        row, sent = _confirming(session, token)
        if not row.receives and not sent_matches(row.confirmation_sent_at, sent):
            abort(404, description=USED)
        return render_template("subscribe_confirm.html", email=row.email, token=token,
                               done=row.receives)


@bp.post("/subscribe/confirm/<token>")
def confirm_post(token: str):
    svc = services()
    with svc.database.session() as session:
        row, sent = _confirming(session, token)
        if row.receives:  # confirmed already (the same link twice): nothing to change
            return render_template("subscribe_confirm.html", email=row.email, token=token,
                                   done=True)
        now = svc.clock.now()
        if not sent_matches(row.confirmation_sent_at, sent) or not confirm_subscriber(
                session, row.id, row.confirmation_sent_at, now):
            abort(404, description=USED)
        audit.record(session, who=BY_LINK, action="subscriber-confirm", at=now,
                     subject=row.email, changes=audit.diff(
                         {"active": False}, {"active": True}))
        return render_template("subscribe_confirm.html", email=row.email, token=token,
                               done=True)


# --- Unsubscribe --------------------------------------------------------------------

@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str):
    svc = services()
    with svc.database.session() as session:
        row = _unsubscribing(session, token)
        return render_template("unsubscribe.html", email=row.email, done=not row.active,
                               token=token)


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe_post(token: str):
    svc = services()
    with svc.database.session() as session:
        row = _unsubscribing(session, token)
        unsubscribe(session, row, svc.clock.now())
        return render_template("unsubscribe.html", email=row.email, done=True, token=token)
