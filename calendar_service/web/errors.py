"""Error answers in the form each client reads best: an RFC 9457 problem document under
/api/, plain text for calendar files, a Vietnamese page everywhere else."""

from __future__ import annotations

from flask import Flask, Response, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from .observe import redacted_path, request_id

# Every status werkzeug can answer with (werkzeug.exceptions.default_exceptions), so no page
# falls back to its English name and description; tests/test_vietnamese_messages.py checks
# the list is complete.
ERROR_TEXT = {
    400: ("Yêu cầu không hợp lệ", "Địa chỉ hoặc tham số không đúng."),
    401: ("Cần đăng nhập", "Vui lòng đăng nhập để xem trang này."),
    403: ("Không được phép", "Bạn không có quyền xem trang này."),
    404: ("Không tìm thấy trang", "Trang bạn tìm không có hoặc đã được chuyển đi."),
    405: ("Không hỗ trợ", "Trang này không nhận yêu cầu kiểu này."),
    406: ("Không có định dạng phù hợp", "Trang này không có ở định dạng trình duyệt yêu cầu."),
    408: ("Hết thời gian chờ", "Yêu cầu gửi đến quá chậm. Vui lòng thử lại."),
    409: ("Xung đột dữ liệu", "Dữ liệu vừa được thay đổi ở nơi khác. Vui lòng tải lại trang."),
    410: ("Đã gỡ bỏ", "Nội dung này đã được gỡ khỏi danh mục."),
    411: ("Thiếu độ dài nội dung", "Yêu cầu cần cho biết độ dài nội dung gửi lên."),
    412: ("Điều kiện không thỏa", "Nội dung đã thay đổi kể từ lần tải trước."),
    413: ("Yêu cầu quá lớn", "Nội dung gửi lên vượt quá giới hạn cho phép."),
    414: ("Địa chỉ quá dài", "Địa chỉ trang dài quá giới hạn cho phép."),
    415: ("Định dạng không hỗ trợ", "Trang này không nhận nội dung ở định dạng đó."),
    416: ("Phạm vi không hợp lệ", "Không có phần nội dung được yêu cầu."),
    417: ("Yêu cầu không đáp ứng được", "Máy chủ không đáp ứng được yêu cầu kèm theo."),
    418: ("Yêu cầu không hợp lệ", "Máy chủ không xử lý yêu cầu này."),
    421: ("Sai máy chủ", "Yêu cầu được gửi nhầm máy chủ."),
    422: ("Không xử lý được", "Nội dung gửi lên không xử lý được."),
    423: ("Đang bị khóa", "Nội dung này đang bị khóa. Vui lòng thử lại sau."),
    424: ("Không xử lý được", "Một yêu cầu liên quan đã không thành công."),
    428: ("Cần điều kiện", "Yêu cầu cần kèm điều kiện (phiên bản đã tải)."),
    429: ("Quá nhiều yêu cầu", "Vui lòng thử lại sau ít phút."),
    431: ("Yêu cầu quá lớn", "Phần đầu của yêu cầu vượt quá giới hạn cho phép."),
    451: ("Không được phép hiển thị", "Nội dung này không được phép hiển thị vì lý do pháp lý."),
    500: ("Lỗi hệ thống", "Đã có lỗi phía máy chủ. Vui lòng thử lại sau."),
    501: ("Chưa hỗ trợ", "Máy chủ chưa hỗ trợ yêu cầu này."),
    502: ("Lỗi kết nối", "Máy chủ trung gian nhận được câu trả lời không hợp lệ."),
    503: ("Tạm ngừng phục vụ", "Dịch vụ đang tạm ngừng. Vui lòng thử lại sau ít phút."),
    504: ("Hết thời gian chờ", "Máy chủ trung gian không nhận được câu trả lời kịp lúc."),
    505: ("Không hỗ trợ", "Máy chủ không hỗ trợ phiên bản HTTP này."),
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
    heading, default = ERROR_TEXT.get(code, ERROR_TEXT[500 if code >= 500 else 400])
    # Our own aborts carry a Vietnamese description; werkzeug's defaults are English.
    own = error.description if error.description and error.description != type(
        error).description else None
    message = own or default
    if request.path.endswith(".ics"):
        # Calendar clients show plain text best; say plainly what went wrong.
        return make_response((f"{message}\n", code,
                              {"Content-Type": "text/plain; charset=utf-8"}))
    if code == 400 and "CSRF" in (error.description or ""):
        message = "Phiên làm việc đã hết hạn. Vui lòng tải lại trang và gửi lại."
    return make_response(render_template("errors/error.html", heading=heading, message=message),
                         code)
