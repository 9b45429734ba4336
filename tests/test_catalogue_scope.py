"""An entry's scope: "national" or "local", per entry or as the file's default (issue 12)."""

from __future__ import annotations

from calendar_service.catalogue import load_catalogue

from .test_catalogue_errors import GOOD_ENTRY, HEADER, line_of, problems, write


def test_scope_defaults_to_national(tmp_path):
    (c,) = load_catalogue([write(tmp_path, GOOD_ENTRY)]).commemorations
    assert c.scope == "national"


def test_scope_per_entry_and_as_the_files_default(tmp_path):
    local_header = HEADER + 'scope = "local"\n'
    path = write(tmp_path, GOOD_ENTRY + GOOD_ENTRY.replace("dien-bien-phu", "other")
                 + 'scope = "national"\n', header=local_header)
    scopes = {c.id: c.scope for c in load_catalogue([path]).commemorations}
    assert scopes == {"dien-bien-phu": "local", "other": "national"}


def test_a_bad_scope_names_file_line_and_key(tmp_path):
    path = write(tmp_path, GOOD_ENTRY + 'scope = "provincial"\n')
    (message,) = problems(path)
    assert message.startswith(f"{path}:{line_of(path, 'provincial')}: scope: expected one of "
                              '"national", "local"')
    assert "'provincial'" in message


def test_a_bad_scope_in_the_header(tmp_path):
    path = write(tmp_path, GOOD_ENTRY, header=HEADER + "scope = 3\n")
    (message,) = [m for m in problems(path) if ": scope: " in m]
    assert message.startswith(f"{path}:{line_of(path, 'scope = 3')}: scope: expected one of")
    assert message.endswith("got an integer")
