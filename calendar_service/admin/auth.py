"""Sessions for the admin area: log in, log out, the signed-in account and its role, and
the `login_required` and `admin_required` decorators.

Roles: an account without an agency is an administrator (everything); an account with one
is a member of that agency, who signs in to the same area, sees every plan and changes only
its own agency's tasks (the plans feature checks that, on the server). `admin_required`
keeps members out of the administrator's pages: a member gets the Vietnamese 403 page.

The session cookie (signed, HttpOnly, SameSite=Lax, Secure in production: web/security.py)
holds the user's id, a proof bound to their current password hash, and the login time. A
password change therefore ends every session of that user, and a session ends after
SESSION_LIFETIME by the service's clock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for

from ..store.models import AgencyRow
from ..web.context import services
from .models import AdminUser

SESSION_LIFETIME = timedelta(hours=12)
_USER, _PROOF, _SINCE = "admin_user", "admin_proof", "admin_since"

F = TypeVar("F", bound=Callable)


def _proof(user: AdminUser) -> str:
    key = current_app.secret_key
    secret = key.encode() if isinstance(key, str) else bytes(key or b"")
    return hmac.new(secret, f"{user.id}:{user.password_hash}".encode(),
                    hashlib.sha256).hexdigest()[:32]


def log_in(user: AdminUser) -> None:
    session.clear()  # a new session on login: nothing set before it survives (fixation)
    session[_USER] = user.id
    session[_PROOF] = _proof(user)
    session[_SINCE] = services().clock.now().timestamp()


def log_out() -> None:
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
    ident, proof, since = session.get(_USER), session.get(_PROOF), session.get(_SINCE)
    if ident is None or proof is None or since is None:
        return None
    svc = services()
    if svc.clock.now().timestamp() - since > SESSION_LIFETIME.total_seconds():
        return None
    with svc.database.session() as db:
        user = db.get(AdminUser, ident)
        if user is not None and hmac.compare_digest(proof, _proof(user)):
            agency = db.get(AgencyRow, user.agency_id) if user.agency_id else None
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
