"""The Flask application factory. Feature blueprints live in their own modules."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from ..app_context import Services
from ..config import Settings

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def create_app(services: Services | None = None) -> Flask:
    services = services or Services(Settings.from_env())
    app = Flask(__name__, template_folder=str(TEMPLATES))
    app.config.update(
        SECRET_KEY=services.settings.secret_key,
        JSON_AS_ASCII=False,
    )
    app.extensions["calendar"] = services

    from ..feeds import routes as feeds
    from ..feeds.service import FeedCache
    from ..reminders import routes as reminders
    from . import filters, health, home

    app.extensions["feed_cache"] = FeedCache(services)
    filters.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(reminders.bp)


    @app.errorhandler(400)
    @app.errorhandler(404)
    @app.errorhandler(410)
    def _plain_error(error):
        # A bad parameter is the client's mistake: say which, plainly, never a 500.
        return (f"{error.description}\n", error.code,
                {"Content-Type": "text/plain; charset=utf-8"})

    return app
