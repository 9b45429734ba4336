"""Sessions for the admin area: log in, log out, and the `login_required` decorator.

The session cookie (signed, HttpOnly, SameSite=Lax, Secure in production: web/security.py)
holds the user's id, a proof bound to their current password hash, and the login time. A
password change therefore ends every session of that user, and a session ends after
SESSION_LIFETIME by the service's clock.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import TypeVar
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for

from ..web.context import services
from .models import AdminUser

SESSION_LIFETIME = timedelta(hours=12)
# Slows password guessing; the same for every kind of failure.
FAILED_LOGIN_DELAY_SECONDS = 0.5
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


def failed_login_pause() -> None:
    time.sleep(current_app.config.get("ADMIN_FAILED_LOGIN_DELAY", FAILED_LOGIN_DELAY_SECONDS))


def current_admin() -> str | None:
    """The logged-in user's name, checked against the database once per request."""
    if "admin_name" in g:
        return g.admin_name
    g.admin_name = None
    ident, proof, since = session.get(_USER), session.get(_PROOF), session.get(_SINCE)
    if ident is None or proof is None or since is None:
        return None
    svc = services()
    if svc.clock.now().timestamp() - since > SESSION_LIFETIME.total_seconds():
        return None
    with svc.database.session() as db:
        user = db.get(AdminUser, ident)
        if user is not None and hmac.compare_digest(proof, _proof(user)):
            g.admin_name = user.username
    return g.admin_name


def safe_next(target: str | None) -> str | None:
    """Only a path inside the admin area: a login link cannot send anyone elsewhere."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or not (
            parts.path == "/admin" or parts.path.startswith("/admin/")):
        return None
    return target


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_admin() is None:
            target = request.full_path.rstrip("?") if request.method == "GET" else None
            return redirect(url_for("admin.login", next=target))
        return view(*args, **kwargs)
    return wrapper  # type: ignore[return-value]
