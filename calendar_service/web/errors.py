"""Error answers in the form each client reads best: an RFC 9457 problem document under
/api/, plain text for calendar files, a Vietnamese page everywhere else."""

from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .observe import redacted_path, request_id

ERROR_TEXT = {
    400: ("Yêu cầu không hợp lệ", "Địa chỉ hoặc tham số không đúng."),
    403: ("Không được phép", "Bạn không có quyền xem trang này."),
    404: ("Không tìm thấy trang", "Trang bạn tìm không có hoặc đã được chuyển đi."),
    405: ("Không hỗ trợ", "Trang này không nhận yêu cầu kiểu này."),
    410: ("Đã gỡ bỏ", "Nội dung này đã được gỡ khỏi danh mục."),
    413: ("Yêu cầu quá lớn", "Nội dung gửi lên vượt quá giới hạn cho phép."),
    429: ("Quá nhiều yêu cầu", "Vui lòng thử lại sau ít phút."),
    500: ("Lỗi hệ thống", "Đã có lỗi phía máy chủ. Vui lòng thử lại sau."),
}


def problem(status: int, title: str, detail: str) -> Response:
    """RFC 9457 problem details."""
    response = jsonify(type="about:blank", title=title, status=status, detail=detail)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException):
        return error_response(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # The path as the request log shows it: a token in it is not written to the log.
        app.logger.exception("unhandled error on %s (request id %s)", redacted_path(),
                             request_id())
        return error_response(InternalServerError())


def error_response(error: HTTPException) -> Response:
    response = _body(error)
    # Keep what werkzeug would have said in headers (e.g. Allow on a 405, RFC 9110).
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _body(error: HTTPException) -> Response:
    code = error.code or 500
    if request.path.startswith("/api/"):
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
