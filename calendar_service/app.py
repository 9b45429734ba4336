"""The Flask application factory: the shared web parts, then each feature's blueprint.

The only module that knows every web feature; none of them imports it.
"""

from __future__ import annotations

from flask import Flask

from .admin import routes as admin
from .api import routes as api
from .app_context import Services
from .clock import today
from .config import Settings
from .feeds import routes as feeds
from .ops import health
from .ops import metrics as ops_metrics
from .pages import routes as pages
from .plans import report_routes as reports
from .plans import routes as plans
from .reminders import routes as reminders
from .resources import STATIC, TEMPLATES
from .web import edge, errors, filters, forms, limits, observe, security
from .web.context import attach


def create_app(services: Services | None = None) -> Flask:
    services = services or Services(Settings.from_env())
    app = Flask(__name__, template_folder=str(TEMPLATES), static_folder=str(STATIC),
                static_url_path="/static")
    app.config.update(SECRET_KEY=services.settings.secret_key,
                      SECRET_KEY_FALLBACKS=list(services.settings.secret_fallbacks),
                      JSON_AS_ASCII=False)
    app.json.ensure_ascii = False
    attach(app, services)
    observe.register(app)  # first: every request gets its id, its figures and its log line
    security.register(app, services.settings.production)
    forms.register(app)  # the request's size: MAX_CONTENT_LENGTH and the form's parts
    edge.register(app)  # before the blueprints: their routes use its converter
    filters.register(app)
    errors.register(app)
    for blueprint in (health.bp, ops_metrics.bp, pages.bp, feeds.bp, reminders.bp, api.bp, admin.bp,
                      plans.bp, reports.bp):
        app.register_blueprint(blueprint)

    limits.register(app, services.settings)  # after the blueprints: it wraps their views

    # Outermost: the client's address as the trusted proxies tell it, for every request.
    limits.trust_proxies(app, services.settings.trusted_proxies)

    @app.context_processor
    def _globals():
        return {"this_year": today(services.clock).year}

    return app
