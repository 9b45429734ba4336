"""GET /metrics: Prometheus text format (prometheus-client).

What it holds:
- counted by the processes as they work (calendar_service/metrics.py): requests by method,
  route and status, their duration histograms, deliveries by kind, channel and result —
  added up over every gunicorn worker (and a scheduler sharing the folder) when
  PROMETHEUS_MULTIPROC_DIR is set;
- read from the database at scrape time, so that every process tells the same truth: the
  readiness checks (`calendar_ready`, `calendar_ready_check`), the ledger's pending,
  retrying and failed deliveries per channel, and every job's heartbeat (the scheduler's
  tick, the feed publish): last success, last finish, duration, ok, and the figures of its
  last run (`calendar_job_figure{name="publish",figure="bytes"}` …). A few small queries on
  one connection, with a statement timeout on PostgreSQL.

Who may read it: with CALENDAR_METRICS_TOKEN set, a request with `Authorization: Bearer
TOKEN` (compared in constant time); without, a client on loopback only — as ProxyFix tells
the address (CALENDAR_TRUSTED_PROXIES), and never a request a proxy we do not trust relayed.
Anyone else gets the same 404 as for a page that does not exist.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
from collections.abc import Iterator

from flask import Blueprint, Response, abort, request
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import case, func, select

from ..app_context import Services
from ..config import Settings
from ..delivery.models import EMAIL, FAILED, PENDING, SENDING, WEBHOOK, DeliveryRow
from ..web.context import services
from . import readiness

bp = Blueprint("metrics", __name__)
log = logging.getLogger("calendar_service.ops")

# Headers by which a proxy says whom it relays: on a loopback connection they mean the
# client is not local, whatever the socket says.
FORWARDED = ("X-Forwarded-For", "Forwarded", "X-Real-IP")
FIGURE = re.compile(r"[a-z][a-z0-9_]{0,39}")
FIGURES_PER_JOB = 20


def allowed(settings: Settings) -> bool:
    token = settings.metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8", "replace"), token.encode())
    if settings.trusted_proxies == 0 and any(name in request.headers for name in FORWARDED):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def metrics():
    svc = services()
    if not allowed(svc.settings):
        abort(404)
    registry = CollectorRegistry(auto_describe=False)
    if svc.settings.metrics_multiproc_dir is not None:
        MultiProcessCollector(registry, path=str(svc.settings.metrics_multiproc_dir))
    else:
        registry.register(_ThisProcess())
    registry.register(StoreCollector(svc))
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = Response(encoder(registry), content_type=content_type)
    response.headers["Cache-Control"] = "no-store"
    return response


class _ThisProcess:
    """The default registry (this process's counters, its process and platform figures)."""

    def collect(self) -> Iterator[Metric]:
        return REGISTRY.collect()


class StoreCollector:
    """What the database says, read when Prometheus asks."""

    def __init__(self, svc: Services) -> None:
        self.services = svc

    def collect(self) -> Iterator[Metric]:
        state = readiness.check(self.services, also=_ledger_counts)
        ready = GaugeMetricFamily("calendar_ready", "1 when /readyz would answer 200.")
        ready.add_metric([], 1.0 if state.ready else 0.0)
        yield ready
        checks = GaugeMetricFamily("calendar_ready_check",
                                   "Each readiness check: 1 ok or skipped, 0 failed.",
                                   labels=["check"])
        for c in state.checks:
            checks.add_metric([c.name], 0.0 if c.status == readiness.FAILED else 1.0)
        yield checks
        yield from _jobs(state.heartbeats)
        if state.also is not None:
            yield from _ledger(state.also)


def _ledger_counts(conn) -> list[tuple[str, str, int, int]]:
    """(status, channel, rows, rows tried at least once) of the open and failed
    deliveries; the status index (ix_deliveries_status_next) narrows it to those rows."""
    return [tuple(row) for row in conn.execute(
        select(DeliveryRow.status, DeliveryRow.channel, func.count(),
               func.sum(case((DeliveryRow.attempts > 0, 1), else_=0)))
        .where(DeliveryRow.status.in_((PENDING, SENDING, FAILED)))
        .group_by(DeliveryRow.status, DeliveryRow.channel))]


def _ledger(rows) -> Iterator[Metric]:
    families = {
        "pending": GaugeMetricFamily(
            "calendar_deliveries_pending",
            "Deliveries waiting in the ledger (new, or to be retried), per channel.",
            labels=["channel"]),
        "retrying": GaugeMetricFamily(
            "calendar_deliveries_retrying",
            "Pending deliveries that have failed at least once, per channel.",
            labels=["channel"]),
        "sending": GaugeMetricFamily(
            "calendar_deliveries_sending",
            "Deliveries claimed by a dispatcher right now, per channel.",
            labels=["channel"]),
        "failed": GaugeMetricFamily(
            "calendar_deliveries_failed",
            "Deliveries given up (a permanent refusal or too many tries), per channel.",
            labels=["channel"]),
    }
    counts = {(name, channel): 0 for name in families for channel in (EMAIL, WEBHOOK)}
    for status, channel, count, tried in rows:
        if status == PENDING:
            counts[("pending", channel)] = count
            counts[("retrying", channel)] = int(tried or 0)
        else:
            counts[("sending" if status == SENDING else "failed", channel)] = count
    for (name, channel), value in sorted(counts.items()):
        families[name].add_metric([channel], float(value))
    yield from families.values()


def _jobs(beats) -> Iterator[Metric]:
    def family(name: str, doc: str, labels=("name",)) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"calendar_job_{name}", doc, labels=list(labels))

    success = family("last_success_timestamp_seconds",
                     "When the job (tick, publish, …) last finished successfully (Unix time).")
    finished = family("last_finished_timestamp_seconds",
                      "When the job last finished, successfully or not (Unix time).")
    duration = family("duration_seconds", "How long the job's last run took.")
    ok = family("ok", "1 when the job's last run succeeded.")
    running = family("running", "1 while a run is in progress (started after its last finish).")
    figures = family("figure", "The figures of the job's last run (counts, bytes, files).",
                     labels=("name", "figure"))
    for beat in beats.values():
        if beat.last_success_at is not None:
            success.add_metric([beat.name], beat.last_success_at.timestamp())
        if beat.last_finished_at is not None:
            finished.add_metric([beat.name], beat.last_finished_at.timestamp())
        if beat.duration_seconds is not None:
            duration.add_metric([beat.name], beat.duration_seconds)
        ok.add_metric([beat.name], 1.0 if beat.ok else 0.0)
        running.add_metric([beat.name], 1.0 if beat.running else 0.0)
        shown = 0
        for key, value in sorted(beat.detail.items()):
            if (key != "duration_seconds" and FIGURE.fullmatch(key) and shown < FIGURES_PER_JOB
                    and isinstance(value, int | float) and not isinstance(value, bool)):
                figures.add_metric([beat.name, key], float(value))
                shown += 1
    yield from (success, finished, duration, ok, running, figures)
