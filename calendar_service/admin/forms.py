"""Admin forms (Flask-WTF: every one carries the CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from ..reminders.forms import SignupForm
from .accounts import MAX_PASSWORD_LENGTH
from .editing import EditError, clean_text, parse_lead_days


class LoginForm(FlaskForm):
    username = StringField("Tên đăng nhập", validators=[
        DataRequired("Vui lòng nhập tên đăng nhập."), Length(max=80)])
    password = PasswordField("Mật khẩu", validators=[
        DataRequired("Vui lòng nhập mật khẩu."), Length(max=MAX_PASSWORD_LENGTH)])
    next = HiddenField()


def _checked(check):
    """A WTForms validator from one of editing's cleaners (EditError → field error)."""
    def validate(form, field) -> None:
        try:
            check(field.data)
        except EditError as exc:
            raise ValidationError(str(exc)) from None
    return validate


class EditForm(FlaskForm):
    # The revision the form was shown at: a save over someone else's change is refused.
    revision = IntegerField(validators=[InputRequired()])
    title = StringField("Tên ngày kỷ niệm", validators=[
        _checked(lambda v: clean_text(v, "Tên", required=True, one_line=True, limit=300))])
    description = TextAreaField("Mô tả", validators=[
        _checked(lambda v: clean_text(v, "Mô tả", required=True))])
    location = StringField("Địa điểm", validators=[
        _checked(lambda v: clean_text(v, "Địa điểm", one_line=True, limit=500))])
    note = TextAreaField("Ghi chú của biên tập", validators=[
        _checked(lambda v: clean_text(v, "Ghi chú"))])
    lead_days = StringField("Nhắc trước (số ngày, cách nhau bằng dấu phẩy; để trống: theo nhóm)",
                            validators=[_checked(parse_lead_days)])


class _DateField(DateField):
    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Ngày không hợp lệ (dạng YYYY-MM-DD).") from None


class ObservanceForm(FlaskForm):
    observed_on = _DateField("Ngày tổ chức", validators=[
        InputRequired("Vui lòng chọn ngày (dạng YYYY-MM-DD).")])


class SubscriberForm(SignupForm):
    """The public sign-up's fields, plus what only an administrator sets."""

    lead_days = StringField("Nhắc trước (số ngày, cách nhau bằng dấu phẩy; để trống: theo "
                            "danh mục)", validators=[_checked(parse_lead_days)])
    webhook = StringField("Webhook chat (không bắt buộc)", validators=[Length(max=2000)])
