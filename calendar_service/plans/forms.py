"""The plans pages' forms (Flask-WTF: each carries the CSRF token). They only carry the
values; `tasks.py` checks them and says what is wrong, in Vietnamese, for the command line
and the pages alike."""

from __future__ import annotations

from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from ..catalogue import ACTIVITY_KINDS
from ..web.forms import AsciiIntegerField, Form, capped
from .models import STATUSES
from .tasks import MAX_NOTE, MAX_TITLE, MAX_URL

STALE_FORM = "Trang đã cũ; vui lòng tải lại trang rồi gửi lại."


class TaskForm(Form):
    # The revision the page was shown at: a change over someone else's is refused.
    revision = AsciiIntegerField(validators=[InputRequired(STALE_FORM)], low=0,
                                 message=STALE_FORM)
    status = SelectField("Trạng thái", validate_choice=False, validators=[capped(40)],
                         choices=[SelectChoice(k, v) for k, v in STATUSES.items()])
    link = StringField("Thêm liên kết kết quả (địa chỉ http:// hoặc https:// của bài, "
                       "chương trình đã đăng)",
                       validators=[capped(MAX_URL, f"Liên kết dài quá {MAX_URL} ký tự.")])
    note = TextAreaField("Ghi chú", validators=[
        capped(MAX_NOTE, f"Ghi chú tối đa {MAX_NOTE} ký tự.")])


class RemoveLinkForm(Form):
    link = HiddenField(validators=[capped(MAX_URL), InputRequired(STALE_FORM)])


class ManualTaskForm(Form):
    commemoration = SelectField("Ngày kỷ niệm", validate_choice=False, validators=[capped(80)])
    kind = SelectField("Loại việc", validate_choice=False, validators=[capped(40)],
                       choices=[SelectChoice(k, v) for k, v in ACTIVITY_KINDS.items()])
    agency = SelectField("Cơ quan chủ trì", validate_choice=False, validators=[capped(80)])
    title = StringField("Tên việc", validators=[
        capped(MAX_TITLE, f"Tên việc: tối đa {MAX_TITLE} ký tự.")])
    due = StringField("Hạn (để trống: ngày kỷ niệm)", validators=[
        capped(10, "Hạn không hợp lệ (dạng YYYY-MM-DD).")])
