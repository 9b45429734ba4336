"""Every message a reader sees is Vietnamese, also those that come from libraries:
email-validator's reasons, WTForms' defaults, werkzeug's error pages."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import email_validator
import pytest
import wtforms
from flask_wtf import FlaskForm
from werkzeug.exceptions import default_exceptions

from calendar_service.reminders.subscribers import EmailAddressError, normalise_email
from calendar_service.vietnamese import email_problem
from calendar_service.web.errors import ERROR_TEXT
from calendar_service.web.forms import WTFORMS_MESSAGES, Form

# Words that give an English sentence away; none is a Vietnamese word.
ENGLISH = re.compile(r"\b(the|is|are|not|must|have|has|invalid|valid|field|required|token|"
                     r"choice|address|character|characters|found|method|allowed|requested|"
                     r"server|please|cannot|can't|should|missing|expired)\b", re.IGNORECASE)
GENERAL = "Địa chỉ e-mail không hợp lệ."

BAD_ADDRESSES = ["abc", "a@", "@b.vn", "a@b", "a..b@c.vn", "ä@b.vn", "a@b..vn", "a@-b.vn",
                 "a b@c.vn", "a@localhost", "a@b.invalid", '"a"@b.vn',
                 "Tên <a@b.vn>", "a@[1.2.3.4]", "a@b.vn-", ".a@b.vn", "a.@b.vn", "a@b.vn.",
                 "a＠b.vn", "a@b_c.vn", "a@" + "b" * 70 + ".vn"]


@pytest.mark.parametrize("address", BAD_ADDRESSES)
def test_a_refused_address_is_explained_in_vietnamese(address):
    with pytest.raises(EmailAddressError) as refused:
        normalise_email(address)
    reason = refused.value.reason
    assert not ENGLISH.search(reason), reason
    assert reason != GENERAL, f"{address!r}: the library's reason has no translation"


def test_the_reasons_say_what_to_fix():
    def reason(address):
        with pytest.raises(EmailAddressError) as refused:
            normalise_email(address)
        return refused.value.reason

    assert reason("abc") == "Địa chỉ e-mail phải có ký tự @."
    assert reason("a b@c.vn") == "Phần trước ký tự @ có ký tự không được dùng: dấu cách."
    assert reason("ä@b.vn") == ("Phần trước ký tự @ chỉ được dùng chữ không dấu, chữ số và "
                                ". _ - +: 'ä'.")


def _library_messages() -> list[str]:
    """Every reason email-validator's source can raise, its f-string holes filled in."""
    folder = Path(email_validator.__file__).parent
    found = []
    for path in folder.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        for match in re.finditer(r'EmailSyntaxError\(\s*(f?)(["\'])((?:\\.|(?!\2).)+)\2', source):
            found.append(re.sub(r"\{[^}]*\}", "x", match.group(3)))
    return found


def test_every_reason_the_library_gives_has_a_translation():
    messages = _library_messages()
    assert len(messages) > 30  # the scan found the library's messages
    untranslated = [m for m in messages if email_problem(m) == GENERAL
                    and "After Unicode normalization" not in m]
    assert not untranslated
    for message in messages:
        assert not ENGLISH.search(email_problem(message)), message


def test_every_wtforms_message_has_a_translation():
    pot = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
    ids = re.findall(r'^msgid(?:_plural)? "(.+)"$', pot.read_text(encoding="utf-8"), re.M)
    assert len(ids) > 30
    assert sorted(set(ids) - set(WTFORMS_MESSAGES)) == []
    for text in WTFORMS_MESSAGES.values():
        assert not ENGLISH.search(text), text


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_form_of_the_service_speaks_vietnamese(app):
    ours = [c for c in _subclasses(FlaskForm) if c.__module__.startswith("calendar_service")]
    assert len(ours) >= 8
    assert [c.__name__ for c in ours if not issubclass(c, Form)] == []
    with app.test_request_context():
        form = ours[0](meta={"csrf": False})
        assert form.meta.get_translations(form).gettext("Not a valid choice.") == \
            "Lựa chọn không hợp lệ."


def test_every_error_status_has_a_vietnamese_page():
    assert sorted(set(default_exceptions) - set(ERROR_TEXT)) == []
    for heading, message in ERROR_TEXT.values():
        assert not ENGLISH.search(heading + " " + message)


TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _text(response) -> str:
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", "", response.get_data(as_text=True),
                  flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())


def _errors(response) -> list[str]:
    return [unescape(e) for e in re.findall(r'class="errors">(.*?)</span>',
                                            response.get_data(as_text=True))]


@pytest.mark.parametrize(("values", "expected"), [
    ({"email": "abc"}, "Địa chỉ e-mail phải có ký tự @."),
    ({"email": "a@b"}, "Tên miền sau ký tự @ không hợp lệ"),
    ({"email": ""}, "Vui lòng nhập e-mail."),
    ({"scope": "zzz"}, "Lựa chọn không hợp lệ."),
    ({"categories": "zzz"}, "'zzz' không phải là lựa chọn hợp lệ."),
    ({"name": "x" * 201}, "Họ tên: tối đa 200 ký tự."),
] + [({"email": address}, None) for address in BAD_ADDRESSES])
def test_the_sign_up_form_answers_bad_input_in_vietnamese(app, values, expected):
    app.config["RATELIMIT_ENABLED"] = False
    client = app.test_client()
    token = TOKEN.search(client.get("/subscribe").get_data(as_text=True)).group(1)
    data = {"csrf_token": token, "email": "editor@example.org", "scope": "notable", **values}
    response = client.post("/subscribe", data=data)
    assert response.status_code == 400
    errors = _errors(response)
    assert errors, "the page shows why the form was refused"
    if expected:
        assert any(expected in e for e in errors), errors
    assert not ENGLISH.search(_text(response)), _text(response)


@pytest.mark.parametrize(("method", "path", "status"), [
    ("get", "/nope", 404), ("get", "/events/nope", 404), ("put", "/", 405),
    ("delete", "/subscribe", 405), ("get", "/?page=0", 400), ("post", "/calendar.ics", 405),
    ("get", "/subscribe/confirm/bad", 404), ("post", "/subscribe", 400),
])
def test_error_pages_are_vietnamese(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    text = _text(response)
    assert text and not ENGLISH.search(text), text
