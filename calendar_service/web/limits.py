"""Rate limits (Flask-Limiter): who may ask how often, before a view does any work.

A feature declares the limits of a view with `@limited(Rate(...), ...)`; `register` (called
by the app factory once every blueprint is in) applies them with this app's limiter. The
counters live in `CALENDAR_RATELIMIT_STORAGE`: `memory://` (the default) counts in the
process, which is right for `serve` (one waitress process); `redis://…` shares them between
gunicorn workers and machines. If that storage cannot be reached, a request is let through
and the failure logged: the site stays up, and what the limits protect has its own second
line (the sign-up's per-address cooldown, the account lockout).

A client is its address: `request.remote_addr`, which is the proxy's unless
`CALENDAR_TRUSTED_PROXIES` says how many proxies in front may be believed about
X-Forwarded-For (werkzeug's ProxyFix, see `trust_proxies`). An IPv6 client is its /64, the
block one subscriber line gets, so changing the last bits of an address does not reset the
count.

A breach is the Vietnamese 429 page (web/errors.py) with `Retry-After`. Tests may switch the
limits off with `app.config["RATELIMIT_ENABLED"] = False`; there is deliberately no setting
to do that in production.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from flask import Flask, current_app, request
from flask.wrappers import Response
from flask_limiter import Limiter
from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import Settings

F = TypeVar("F", bound=Callable)
_KEY = "calendar_service.limiter"


def client_address() -> str:
    """The client as the limits count it: its IP address, or its /64 for IPv6."""
    raw = request.remote_addr or "unknown"
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def everyone() -> str:
    """One counter for all clients together (a global limit)."""
    return "*"


def form_value(name: str, normalise: Callable[[str], str] = str.strip) -> Callable[[], str]:
    """A key from a form field (say, the user name being tried): normalised, and hashed
    when long, so a counter's name stays short whatever was posted."""
    def key() -> str:
        value = normalise(request.form.get(name, "") or "")
        if len(value) > 80:
            value = "#" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()
        return value or "-"
    return key


def failed(response: Response) -> bool:
    """Count a request only when it did not succeed (a form re-shown, not a redirect)."""
    return response.status_code != 302


def accepted(response: Response) -> bool:
    """Count a request only when the form was taken (answered with a redirect)."""
    return response.status_code == 302


@dataclass(frozen=True)
class Rate:
    """One limit: `spec` in Flask-Limiter's notation ("5 per hour;20 per day"), counted per
    `key` (default: the client's address) in the counter `scope`, for requests of `methods`
    (default: POST, what changes something or sends mail); `counts` decides from the answer
    whether a request is counted (default: every one); `message` is the Vietnamese text of
    the 429 page."""

    spec: str
    scope: str
    message: str
    key: Callable[[], str] = client_address
    counts: Callable[[Response], bool] | None = None
    methods: tuple[str, ...] = ("POST",)


def limited(*rates: Rate) -> Callable[[F], F]:
    """Declare a view's limits; `register` applies them."""
    def mark(view: F) -> F:
        view.rate_limits = (*getattr(view, "rate_limits", ()), *rates)  # type: ignore[attr-defined]
        return view
    return mark


def trust_proxies(app: Flask, count: int) -> None:
    """Believe X-Forwarded-For and X-Forwarded-Proto from `count` proxies in front (0: none:
    the address is the connection's, and a client cannot choose it with a header)."""
    if count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0,
                                x_port=0, x_prefix=0)


def register(app: Flask, settings: Settings) -> Limiter:
    """This app's limiter, with every declared limit applied to its view."""
    # Counters of two deployments sharing one Redis never mix: they are named after a
    # digest of each one's secret key.
    prefix = "calendar-service:" + hashlib.sha256(
        settings.secret_key.encode()).hexdigest()[:12]
    app.config.setdefault("RATELIMIT_ENABLED", True)
    limiter = Limiter(
        client_address, app=app, storage_uri=settings.ratelimit_storage,
        strategy="moving-window", headers_enabled=True, key_prefix=prefix,
        swallow_errors=True)  # storage down: let requests through, logged

    @limiter.request_filter
    def _switched_off_by_a_test() -> bool:
        return current_app.config.get("RATELIMIT_ENABLED") is False

    for endpoint, view in list(app.view_functions.items()):
        rates: tuple[Rate, ...] = getattr(view, "rate_limits", ())
        for rate in rates:
            view = limiter.limit(rate.spec, key_func=rate.key, scope=rate.scope,
                                 error_message=rate.message, deduct_when=rate.counts,
                                 methods=list(rate.methods))(view)
        app.view_functions[endpoint] = view
    app.extensions[_KEY] = limiter
    return limiter


def limiter_of(app: Flask) -> Limiter:
    return app.extensions[_KEY]
