"""Self-service sign-up with double opt-in, and one-click unsubscribe — no login needed.

GET on a link never changes anything (corporate link scanners open every link): it shows a
page with one button, and the POST does the work. The unsubscribe POST also accepts a mail
client's RFC 8058 one-click request, which carries no CSRF token: the signed token in the
URL is the proof, so that route is exempt from CSRF.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, flash, redirect, render_template, url_for

from ..catalogue import CATEGORIES
from ..feeds.links import feed_url, google_subscribe_url, webcal_url
from ..web.context import services
from ..web.limits import Rate, accepted, everyone, limited
from ..web.security import csrf
from .channels import PermanentFailure, TemporaryFailure
from .channels.email import build_confirmation, transport_from_url
from .dispatch import UNSUBSCRIBE
from .forms import SignupForm
from .models import SubscriberRow
from .subscribers import NewSubscriber, SubscriberError, add, find, unsubscribe
from .tokens import make_timed_token, read_timed_token, read_token

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


def _confirming(session, token: str) -> SubscriberRow:
    svc = services()
    return _from_token(session, read_timed_token(svc.settings.secret_key, CONFIRM, token,
                                                 svc.clock.now()), "xác nhận")


def _unsubscribing(session, token: str) -> SubscriberRow:
    return _from_token(session, read_token(services().settings.secret_key, UNSUBSCRIBE, token),
                       "hủy đăng ký")


def _from_token(session, found: tuple[int, str] | None, what: str) -> SubscriberRow:
    if found is None:
        abort(404, description=f"Liên kết {what} không hợp lệ hoặc đã hết hạn.")
    row = session.get(SubscriberRow, found[0])
    if row is None or row.email.lower() != found[1]:
        abort(404, description=f"Liên kết {what} không còn hiệu lực.")
    return row


# --- Sign-up ------------------------------------------------------------------------

def render_subscribe(form: SignupForm | None = None) -> str:
    """How to subscribe: the feed addresses, then the reminder sign-up form."""
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


@bp.post("/subscribe")
@limited(*SIGNUP_LIMITS)
def signup():
    svc = services()
    form = SignupForm()
    if not form.validate_on_submit():
        return render_subscribe(form), 400
    now = svc.clock.now()
    send_to: tuple[int, str, str | None] | None = None
    with svc.database.session() as session:
        row = find(session, form.email.data)
        if row is None:
            try:
                new = NewSubscriber.parse(
                    form.email.data, name=form.name.data, organisation=form.organisation.data,
                    categories=form.categories.data, scope=form.scope.data)
            except SubscriberError as exc:
                form.email.errors = [*form.email.errors, str(exc)]
                return render_subscribe(form), 400
            row = add(session, new, now, confirmed=False)
        elif not row.receives:
            # Pending, or unsubscribed earlier: ask again; preferences as given now.
            row.active, row.confirmed_at, row.unsubscribed_at = True, None, None
            row.categories = sorted(form.categories.data) or None
            row.scope = form.scope.data
        recently = (row.confirmation_sent_at is not None
                    and now - row.confirmation_sent_at < CONFIRM_COOLDOWN)
        if row.confirmed_at is None and not recently:
            send_to = (row.id, row.email, row.name)
    if send_to is not None:
        ident, email, name = send_to
        token = make_timed_token(svc.settings.secret_key, CONFIRM, ident, email, now)
        message = build_confirmation(
            recipient=email, name=name, sender=svc.settings.mail_from,
            confirm_url=f"{svc.settings.base_url}{url_for('reminders.confirm', token=token)}",
            sent_at=now, host=_host())
        try:
            with transport_from_url(svc.settings.mail_url).connect() as mail:
                mail.send(message)
        except (TemporaryFailure, PermanentFailure):
            flash("Chưa gửi được thư xác nhận. Vui lòng thử lại sau ít phút.", "error")
            return redirect(url_for("reminders.subscribe"))
        with svc.database.session() as session:
            session.get(SubscriberRow, ident).confirmation_sent_at = now
    # The same answer whether or not the address was known: no address is disclosed.
    return redirect(url_for("reminders.sent"))


@bp.get("/subscribe/sent")
def sent():
    return render_template("subscribe_sent.html")


def _host() -> str:
    from urllib.parse import urlsplit

    return urlsplit(services().settings.base_url).hostname or "localhost"


@bp.get("/subscribe/confirm/<token>")
def confirm(token: str):
    svc = services()
    with svc.database.session() as session:
        row = _confirming(session, token)
        return render_template("subscribe_confirm.html", email=row.email, token=token,
                               done=row.receives)


@bp.post("/subscribe/confirm/<token>")
def confirm_post(token: str):
    svc = services()
    with svc.database.session() as session:
        row = _confirming(session, token)
        if not row.receives:
            row.confirmed_at, row.active, row.unsubscribed_at = svc.clock.now(), True, None
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
