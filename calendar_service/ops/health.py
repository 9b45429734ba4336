"""GET /healthz (liveness: the process answers and reaches its database) and GET /readyz
(readiness: database, migrations, scheduler, publish; see readiness.py), for load
balancers, systemd watchdogs and monitoring. JSON bodies; 200 or 503; never cached."""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify

from ..web.context import services
from . import readiness

bp = Blueprint("health", __name__)
log = logging.getLogger("calendar_service.ops")


@bp.get("/healthz")
def healthz():
    problem = services().database.ping()
    if problem is None:
        response = jsonify(status="ok", database="ok")
    else:
        log.warning("healthz: the database does not answer: %s", problem)
        # The reason (host names, ports) goes to the log, not to whoever asks.
        response = jsonify(status="unavailable", database="does not answer")
        response.status_code = 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/readyz")
def readyz():
    state = readiness.check(services())
    response = jsonify(state.as_json())
    response.status_code = 200 if state.ready else 503
    response.headers["Cache-Control"] = "no-store"
    return response
