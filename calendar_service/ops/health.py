"""GET /healthz: liveness and database reachability, for load balancers and monitoring."""

from __future__ import annotations

from flask import Blueprint, jsonify

from ..web.context import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    problem = services().database.ping()
    if problem is None:
        return jsonify(status="ok", database="ok")
    response = jsonify(status="unavailable", database=problem)
    response.status_code = 503
    return response
