"""WSGI entry for production servers: `gunicorn calendar_service.wsgi:app`.

It serves the web app only; run one `calendar-service scheduler` beside the workers. For the
metrics' multiprocess mode, the config file takes the hooks of
`calendar_service.ops.gunicorn_hooks` (README, Monitoring).
"""

from . import logs
from .app import create_app
from .app_context import Services
from .config import Settings

_services = Services(Settings.from_env())
logs.configure(_services.settings)  # one line per request and per record, text or JSON
app = create_app(_services)
