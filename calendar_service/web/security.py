"""Security headers, session cookie settings and CSRF protection for every response/form.

Private answers are never stored by a cache (`Cache-Control: no-store`): every page of the
admin area, and the pages whose address is itself a secret (a sign-up confirmation, an
unsubscribe link). In production, an HTTPS answer carries `Strict-Transport-Security`, so a
browser that has seen the site once never tries it over plain HTTP again.
"""

from __future__ import annotations

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()

# Paths whose answers no cache may keep.
PRIVATE_PREFIXES = ("/admin", "/subscribe/confirm/", "/unsubscribe/")
HSTS = "max-age=31536000"

# No inline script or style anywhere: the pages work with local CSS and no JavaScript.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")


def register(app: Flask, production: bool) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        WTF_CSRF_TIME_LIMIT=None,  # tied to the session instead of a clock
    )
    csrf.init_app(app)

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/") and request.method in ("GET", "HEAD", "OPTIONS"):
            headers["Access-Control-Allow-Origin"] = "*"  # other portals embed the list
        if request.path.startswith(PRIVATE_PREFIXES):
            headers["Cache-Control"] = "no-store"
        if production and request.is_secure:
            headers.setdefault("Strict-Transport-Security", HSTS)
        return response
