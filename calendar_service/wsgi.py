"""WSGI entry for production servers: `gunicorn calendar_service.wsgi:app`.

It serves the web app only; run one `calendar-service scheduler` beside the workers.
"""

from .app import create_app

app = create_app()
