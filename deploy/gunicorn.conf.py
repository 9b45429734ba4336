"""gunicorn settings for calendar-service (`gunicorn -c deploy/gunicorn.conf.py`).

Installed as /etc/calendar-service/gunicorn.conf.py by deploy/README.md; the systemd unit
calendar-service-web.service starts gunicorn with it. Every value can be changed in the
environment file (/etc/calendar-service/calendar-service.env) without editing this file.
"""

import multiprocessing
import os

# The metrics' multiprocess mode (PROMETHEUS_MULTIPROC_DIR in the environment file): the
# arbiter clears the files of ended processes at start and marks a dead worker's gauges.
from calendar_service.ops.gunicorn_hooks import child_exit, on_starting  # noqa: F401

wsgi_app = "calendar_service.wsgi:app"

# Loopback only: nginx is the one client (deploy/nginx/), and it alone faces the network.
bind = os.environ.get("CALENDAR_GUNICORN_BIND", "127.0.0.1:8000")

# Two processes per core, each with a few threads: the app waits on PostgreSQL and on
# building pages much more than it computes, and nginx serves the feeds without it.
workers = int(os.environ.get("CALENDAR_GUNICORN_WORKERS", 2 * multiprocessing.cpu_count()))
worker_class = "gthread"
threads = int(os.environ.get("CALENDAR_GUNICORN_THREADS", 4))

# A feed built from nothing at 20,000 commemorations takes half a minute, but it is built in
# a background thread (a request waits at most CALENDAR_FEED_BUILD_WAIT_SECONDS), so no
# request should come near this limit; a worker that does is stuck and is replaced.
timeout = int(os.environ.get("CALENDAR_GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
keepalive = 5  # nginx keeps its upstream connections open (keepalive in the upstream block)

# Recycle workers now and then: a slow leak never grows into an outage.
max_requests = 20_000
max_requests_jitter = 2_000

# Believe X-Forwarded-* from the local nginx only; the app itself reads the client's address
# through CALENDAR_TRUSTED_PROXIES=1 (werkzeug's ProxyFix).
forwarded_allow_ips = "127.0.0.1,::1"

# journald keeps the logs: gunicorn's own lines and one access line per request.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("CALENDAR_GUNICORN_LOGLEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'

# Each worker builds its own caches; nothing is shared through a preloaded app.
preload_app = False
