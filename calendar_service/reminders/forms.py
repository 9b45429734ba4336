"""The self-service sign-up form (CSRF-protected through Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..catalogue import CATEGORIES
from .models import SCOPE_ALL, SCOPE_NOTABLE
from .subscribers import SubscriberError, normalise_email


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SignupForm(FlaskForm):
    email = StringField("Địa chỉ e-mail", validators=[DataRequired("Vui lòng nhập e-mail."),
                                                      Length(max=320)])
    name = StringField("Họ tên hoặc tên bộ phận", validators=[Length(max=200)])
    organisation = StringField("Cơ quan", validators=[Length(max=200)])
    categories = _Checkboxes(
        "Nhóm ngày kỷ niệm (để trống: tất cả)",
        choices=[SelectChoice(slug, c.label) for slug, c in CATEGORIES.items()])
    scope = RadioField("Phạm vi", default=SCOPE_NOTABLE, choices=[
        SelectChoice(SCOPE_NOTABLE, "Chỉ các ngày chỉ thị nêu tên và các năm tròn, năm chẵn"),
        SelectChoice(SCOPE_ALL, "Mọi ngày kỷ niệm hằng năm")])

    def validate_email(self, field) -> None:
        try:
            field.data = normalise_email(field.data or "")
        except SubscriberError as exc:
            raise ValidationError(str(exc)) from None
