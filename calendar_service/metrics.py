"""The service's Prometheus metrics that code increments as it works (prometheus-client).

Defined once per process, here at the bottom of the layers, so that the web hooks
(web/observe.py) and the delivery dispatcher (delivery/dispatch.py) count into the same
families that /metrics (ops/metrics.py) exposes. Figures that live in the database — the
ledger's pending and failed deliveries, the heartbeats of the tick and the feed publish —
are not counted here: /metrics reads them at scrape time, so every process and machine
reports the same truth.

Under gunicorn set PROMETHEUS_MULTIPROC_DIR (before the workers start): prometheus-client
then keeps each worker's values in files there and /metrics adds them up (README,
Monitoring). Labels are bounded: a route is its url rule, never the raw path; a method
outside the usual few is "other"; a delivery's kind, channel and status come from code.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

# No `_created` series beside every counter: they double the series for nothing here (and
# the multiprocess mode has none), so one process and many expose the same names.
disable_created_metrics()

NAMESPACE = "calendar"

HTTP_REQUESTS = Counter(
    "http_requests", "HTTP requests answered, by method, route (url rule) and status.",
    ["method", "route", "status"], namespace=NAMESPACE)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival in the app to its response, by method and route.",
    ["method", "route"], namespace=NAMESPACE,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
DELIVERIES = Counter(
    "deliveries", "Delivery attempts by this process, by kind, channel and result "
    "(sent, retrying, failed, skipped, lost).",
    ["kind", "channel", "status"], namespace=NAMESPACE)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "(unmatched)"  # the route label of a request no url rule matched (a 404, a 405)


def method_label(method: str) -> str:
    return method if method in METHODS else "other"
