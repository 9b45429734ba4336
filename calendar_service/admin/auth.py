"""Sessions for the admin area: log in, log out, the signed-in account and its role, and
the `login_required` and `admin_required` decorators.

Roles: an account without an agency is an administrator (everything); an account with one
is a member of that agency, who signs in to the same area, sees every plan and changes only
its own agency's tasks (the plans feature checks that, on the server). `admin_required`
keeps members out of the administrator's pages: a member gets the Vietnamese 403 page.

Sessions are kept on the server (`admin_sessions`, admin/models.py): the cookie (signed,
HttpOnly, SameSite=Lax, Secure in production: web/security.py) holds a random token, the
table its SHA-256, the account and the login time, and every request looks it up. So a
session can be ended at once, wherever the cookie went: logout deletes its row; a new
password, a lock after failed logins and the account's removal delete every row of the
account (accounts.py). A session also ends SESSION_LIFETIME after the login, by the
service's clock.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import TypeVar
from urllib.parse import urlsplit

from flask import abort, g, redirect, request, session, url_for
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..store.models import AgencyRow
from ..web.context import services
from .models import AdminSession, AdminUser

SESSION_LIFETIME = timedelta(hours=12)
_TOKEN = "admin_session"

F = TypeVar("F", bound=Callable)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def log_in(db: Session, user: AdminUser) -> None:
    """A new server-side session for `user` (in the caller's transaction), and a new cookie:
    nothing set before the login survives it (fixation)."""
    now = services().clock.now()
    # Sessions past their lifetime are of no use to anyone: drop them on the way.
    db.execute(delete(AdminSession).where(AdminSession.created_at < now - SESSION_LIFETIME))
    token = secrets.token_urlsafe(32)
    db.add(AdminSession(id=_digest(token), user_id=user.id, created_at=now))
    session.clear()
    session[_TOKEN] = token


def log_out() -> None:
    """End this session on the server (a copy of the cookie opens nothing afterwards)."""
    token = session.get(_TOKEN)
    if isinstance(token, str):
        with services().database.session() as db:
            db.execute(delete(AdminSession).where(AdminSession.id == _digest(token)))
    session.clear()


@dataclass(frozen=True, slots=True)
class Account:
    """The signed-in account, as a request sees it."""

    id: int
    username: str
    agency_id: str | None  # None: an administrator
    agency_short: str | None = None  # the agency's short name, for the pages

    @property
    def is_administrator(self) -> bool:
        return self.agency_id is None

    def may_change(self, agency_id: str) -> bool:
        """May this account change a task of that agency? Administrators: any."""
        return self.agency_id is None or self.agency_id == agency_id


def current_account() -> Account | None:
    """The logged-in account, checked against the database once per request."""
    if "admin_account" in g:
        return g.admin_account
    g.admin_account = None
    token = session.get(_TOKEN)
    if not isinstance(token, str) or len(token) > 100:
        return None
    svc = services()
    with svc.database.session() as db:
        found = db.execute(
            select(AdminUser, AgencyRow)
            .join(AdminSession, AdminSession.user_id == AdminUser.id)
            .outerjoin(AgencyRow, AgencyRow.id == AdminUser.agency_id)
            .where(AdminSession.id == _digest(token),
                   AdminSession.created_at > svc.clock.now() - SESSION_LIFETIME)).first()
        if found is not None:
            user, agency = found
            g.admin_account = Account(user.id, user.username, user.agency_id,
                                      agency.short if agency is not None else user.agency_id)
    return g.admin_account


def current_admin() -> str | None:
    """The logged-in user's name (an administrator's or a member's)."""
    account = current_account()
    return account.username if account is not None else None


def layout_context() -> dict:
    """What the admin layout needs (its navigation shows links by role): every blueprint
    whose pages extend it adds this to its templates' context."""
    return {"admin_name": current_admin(), "admin_account": current_account()}


def safe_next(target: str | None) -> str | None:
    """Only a path inside the admin area: a login link cannot send anyone elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not (
            parts.path == "/admin" or parts.path.startswith("/admin/")):
        return None
    return target


def _to_login():
    """To the login page, coming back here afterwards (a GET only)."""
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("admin.login", next=target))


def login_required(view: F) -> F:
    """Logged in: an administrator or a member of an agency."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_account() is None:
            return _to_login()
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


ADMINISTRATORS_ONLY = ("Trang này chỉ dành cho quản trị viên; tài khoản của cơ quan không dùng "
                       "được trang này.")


def admin_required(view: F) -> F:
    """Logged in, and an administrator: a member of an agency gets the 403 page."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        account = current_account()
        if account is None:
            return _to_login()
        if not account.is_administrator:
            abort(403, description=ADMINISTRATORS_ONLY)
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
