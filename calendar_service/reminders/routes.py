"""One-click unsubscribe, without a login (RFC 8058 for mail clients, a page for people).

GET shows a page with one button, because link scanners in corporate mail open every link;
POST unsubscribes — both the page's button and a mail client's one-click POST.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from ..web.services import services
from .dispatch import UNSUBSCRIBE
from .models import SubscriberRow
from .subscribers import unsubscribe
from .tokens import read_token

bp = Blueprint("reminders", __name__)


def _subscriber(session, token: str) -> SubscriberRow:
    svc = services()
    found = read_token(svc.settings.secret_key, UNSUBSCRIBE, token)
    if found is None:
        abort(404, description="Liên kết hủy đăng ký không hợp lệ.")
    row = session.get(SubscriberRow, found[0])
    if row is None or row.email.lower() != found[1]:
        abort(404, description="Liên kết hủy đăng ký không còn hiệu lực.")
    return row


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    with services().database.session() as session:
        row = _subscriber(session, token)
        return render_template("unsubscribe.html", email=row.email, done=not row.active,
                               token=token)


@bp.post("/unsubscribe/<token>")
def perform(token: str):
    svc = services()
    with svc.database.session() as session:
        row = _subscriber(session, token)
        unsubscribe(session, row, svc.clock.now())
        return render_template("unsubscribe.html", email=row.email, done=True, token=token)
