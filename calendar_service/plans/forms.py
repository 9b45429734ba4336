"""The plans pages' forms (Flask-WTF: each carries the CSRF token). They only carry the
values; `tasks.py` checks them and says what is wrong, in Vietnamese, for the command line
and the pages alike."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from ..catalogue import ACTIVITY_KINDS
from .models import STATUSES

STALE_FORM = "Trang đã cũ; vui lòng tải lại trang rồi gửi lại."


class TaskForm(FlaskForm):
    # The revision the page was shown at: a change over someone else's is refused.
    revision = IntegerField(validators=[InputRequired(STALE_FORM)])
    status = SelectField("Trạng thái", validate_choice=False,
                         choices=[SelectChoice(k, v) for k, v in STATUSES.items()])
    link = StringField("Thêm liên kết kết quả (địa chỉ http:// hoặc https:// của bài, "
                       "chương trình đã đăng)")
    note = TextAreaField("Ghi chú")


class RemoveLinkForm(FlaskForm):
    link = HiddenField(validators=[InputRequired(STALE_FORM)])


class ManualTaskForm(FlaskForm):
    commemoration = SelectField("Ngày kỷ niệm", validate_choice=False)
    kind = SelectField("Loại việc", validate_choice=False,
                       choices=[SelectChoice(k, v) for k, v in ACTIVITY_KINDS.items()])
    agency = SelectField("Cơ quan chủ trì", validate_choice=False)
    title = StringField("Tên việc")
    due = StringField("Hạn (để trống: ngày kỷ niệm)")
