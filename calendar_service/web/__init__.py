"""The Flask application factory. Each feature registers its own blueprint."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from ..app_context import Services
from ..clock import today
from ..config import Settings

ROOT = Path(__file__).resolve().parents[2]

ERROR_TEXT = {
    400: ("Yêu cầu không hợp lệ", "Địa chỉ hoặc tham số không đúng."),
    403: ("Không được phép", "Bạn không có quyền xem trang này."),
    404: ("Không tìm thấy trang", "Trang bạn tìm không có hoặc đã được chuyển đi."),
    405: ("Không hỗ trợ", "Trang này không nhận yêu cầu kiểu này."),
    410: ("Đã gỡ bỏ", "Nội dung này đã được gỡ khỏi danh mục."),
    429: ("Quá nhiều yêu cầu", "Vui lòng thử lại sau ít phút."),
    500: ("Lỗi hệ thống", "Đã có lỗi phía máy chủ. Vui lòng thử lại sau."),
}


def create_app(services: Services | None = None) -> Flask:
    services = services or Services(Settings.from_env())
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config.update(SECRET_KEY=services.settings.secret_key, JSON_AS_ASCII=False)
    app.json.ensure_ascii = False
    app.extensions["calendar"] = services

    from ..admin import routes as admin
    from ..api import routes as api
    from ..feeds import routes as feeds
    from ..feeds.fast import FeedFastPath
    from ..feeds.service import FeedCache
    from ..reminders import routes as reminders
    from ..store.state import VersionWatch
    from . import filters, health, home, pages, security
    from .index import ListingIndex

    # One watch on the store's data version for every cache of this process.
    watch = VersionWatch(services.database, services.settings.feed_version_check_seconds)
    app.extensions["feed_cache"] = FeedCache(services, watch=watch)
    app.extensions["listing_index"] = ListingIndex(services.database, watch)
    security.register(app, services.settings.production)
    filters.register(app)
    for blueprint in (health.bp, home.bp, pages.bp, feeds.bp, reminders.bp, api.bp, admin.bp):
        app.register_blueprint(blueprint)

    # The feed's hottest request skips Flask entirely (see feeds/fast.py).
    app.wsgi_app = FeedFastPath(app.wsgi_app, app.extensions["feed_cache"])

    @app.context_processor
    def _globals():
        return {"this_year": today(services.clock).year}

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return _error_response(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return _error_response(InternalServerError())

    return app


def _error_response(error: HTTPException):
    response = _error_body(error)
    # Keep what werkzeug would have said in headers (e.g. Allow on a 405, RFC 9110).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _error_body(error: HTTPException):
    from flask import make_response

    code = error.code or 500
    if request.path.startswith("/api/"):
        from ..api.routes import problem

        return problem(code, error.name, error.description or error.name)
    if request.path.endswith(".ics"):
        # Calendar clients show plain text best; say plainly what went wrong.
        return make_response((f"{error.description}\n", code,
                              {"Content-Type": "text/plain; charset=utf-8"}))
    heading, default = ERROR_TEXT.get(code, (error.name, error.description))
    # Our own aborts carry a Vietnamese description; werkzeug's defaults are English.
    own = error.description if error.description and error.description != type(
        error).description else None
    message = own or default
    if code == 400 and "CSRF" in (error.description or ""):
        message = "Phiên làm việc đã hết hạn. Vui lòng tải lại trang và gửi lại."
    return make_response(render_template("errors/error.html", heading=heading, message=message),
                         code)
