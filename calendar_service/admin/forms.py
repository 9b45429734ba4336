"""Admin forms (Flask-WTF: every one carries the CSRF token)."""

from __future__ import annotations

from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, ValidationError

from ..reminders.forms import SignupForm
from ..web.forms import AsciiDateField, AsciiIntegerField, Form, capped
from .accounts import MAX_PASSWORD_LENGTH
from .editing import MAX_LEAD_DAYS_TEXT, EditError, clean_text, parse_lead_days

MAX_TITLE, MAX_LOCATION, MAX_PROSE = 300, 500, 5000
MAX_URL = 2000
LEAD_DAYS_TOO_LONG = f"Số ngày nhắc trước: tối đa {MAX_LEAD_DAYS_TEXT} ký tự."


class LoginForm(Form):
    username = StringField("Tên đăng nhập", validators=[
        capped(80), DataRequired("Vui lòng nhập tên đăng nhập.")])
    password = PasswordField("Mật khẩu", validators=[
        capped(MAX_PASSWORD_LENGTH), DataRequired("Vui lòng nhập mật khẩu.")])
    next = HiddenField(validators=[capped(MAX_URL)])


def _checked(check):
    """A WTForms validator from one of editing's cleaners (EditError → field error)."""
    def validate(form, field) -> None:
        try:
            check(field.data)
        except EditError as exc:
            raise ValidationError(str(exc)) from None
    return validate


class EditForm(Form):
    # The revision the form was shown at: a save over someone else's change is refused.
    revision = AsciiIntegerField(validators=[InputRequired()], low=0)
    title = StringField("Tên ngày kỷ niệm", validators=[
        capped(MAX_TITLE, f"Tên: tối đa {MAX_TITLE} ký tự."),
        _checked(lambda v: clean_text(v, "Tên", required=True, one_line=True,
                                      limit=MAX_TITLE))])
    description = TextAreaField("Mô tả", validators=[
        capped(MAX_PROSE, f"Mô tả: tối đa {MAX_PROSE} ký tự."),
        _checked(lambda v: clean_text(v, "Mô tả", required=True, limit=MAX_PROSE))])
    location = StringField("Địa điểm", validators=[
        capped(MAX_LOCATION, f"Địa điểm: tối đa {MAX_LOCATION} ký tự."),
        _checked(lambda v: clean_text(v, "Địa điểm", one_line=True, limit=MAX_LOCATION))])
    note = TextAreaField("Ghi chú của biên tập", validators=[
        capped(MAX_PROSE, f"Ghi chú: tối đa {MAX_PROSE} ký tự."),
        _checked(lambda v: clean_text(v, "Ghi chú", limit=MAX_PROSE))])
    lead_days = StringField("Nhắc trước (số ngày, cách nhau bằng dấu phẩy; để trống: theo nhóm)",
                            validators=[capped(MAX_LEAD_DAYS_TEXT, LEAD_DAYS_TOO_LONG), _checked(parse_lead_days)])


class ObservanceForm(Form):
    observed_on = AsciiDateField("Ngày tổ chức", validators=[
        InputRequired("Vui lòng chọn ngày (dạng YYYY-MM-DD).")])


class SubscriberForm(SignupForm):
    """The public sign-up's fields, plus what only an administrator sets."""

    lead_days = StringField("Nhắc trước (số ngày, cách nhau bằng dấu phẩy; để trống: theo "
                            "danh mục)", validators=[capped(MAX_LEAD_DAYS_TEXT, LEAD_DAYS_TOO_LONG),
                                                     _checked(parse_lead_days)])
    webhook = StringField("Webhook chat (không bắt buộc)", validators=[capped(MAX_URL)])
