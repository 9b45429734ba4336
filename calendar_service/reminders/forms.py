"""The self-service sign-up form (CSRF-protected through Flask-WTF)."""

from __future__ import annotations

from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..catalogue import CATEGORIES
from ..web.forms import Form, capped
from .models import SCOPE_ALL, SCOPE_NOTABLE
from .subscribers import EmailAddressError, normalise_email


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SignupForm(Form):
    email = StringField("Địa chỉ e-mail", validators=[
        capped(320, "Địa chỉ e-mail: tối đa 320 ký tự."), DataRequired("Vui lòng nhập e-mail.")])
    name = StringField("Họ tên hoặc tên bộ phận", validators=[
        capped(200, "Họ tên: tối đa 200 ký tự.")])
    organisation = StringField("Cơ quan", validators=[capped(200, "Cơ quan: tối đa 200 ký tự.")])
    categories = _Checkboxes(
        "Nhóm ngày kỷ niệm (để trống: tất cả)", validators=[capped(40)],
        choices=[SelectChoice(slug, c.label) for slug, c in CATEGORIES.items()])
    scope = RadioField("Phạm vi", default=SCOPE_NOTABLE, validators=[capped(40)], choices=[
        SelectChoice(SCOPE_NOTABLE, "Chỉ các ngày chỉ thị nêu tên và các năm tròn, năm chẵn"),
        SelectChoice(SCOPE_ALL, "Mọi ngày kỷ niệm hằng năm")])

    def validate_email(self, field) -> None:
        try:
            field.data = normalise_email(field.data or "")
        except EmailAddressError as exc:
            raise ValidationError(exc.reason) from None
