"""`check` finds every kind of mistake, reports all of them at once with file, line and key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from calendar_service.catalogue import CatalogueError, load_catalogue

HEADER = """\
[catalogue]
designates = 2024
directive = "Chỉ thị thử"
theme = "Chủ đề"
source = "Chỉ thị thử, mục I.7"
"""

GOOD_ENTRY = """
[[commemoration]]
id = "dien-bien-phu"
title = "Chiến thắng Điện Biên Phủ"
origin = 1954-05-07
category = "victory"
description = "Mô tả."
"""


def write(tmp_path: Path, body: str, name: str = "events.toml", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + textwrap.dedent(body), encoding="utf-8")
    return path


def problems(*paths: Path) -> list[str]:
    with pytest.raises(CatalogueError) as info:
        load_catalogue(paths)
    return [str(p) for p in info.value.problems]


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[nth - 1]


def test_a_good_file_loads(tmp_path):
    catalogue = load_catalogue([write(tmp_path, GOOD_ENTRY)])
    assert [c.id for c in catalogue.commemorations] == ["dien-bien-phu"]


def test_toml_syntax_error_names_its_line(tmp_path):
    path = write(tmp_path, GOOD_ENTRY + 'note = "unterminated\n')
    (message,) = problems(path)
    assert message.startswith(f"{path}:{line_of(path, 'unterminated')}: note: TOML syntax error")


def test_date_that_does_not_exist_as_toml_literal(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace("1954-05-07", "1954-04-31"))
    (message,) = problems(path)
    assert message == f"{path}:{line_of(path, 'origin')}: origin: TOML syntax error: " \
                      "1954-04-31 is not a date that exists"


def test_date_that_does_not_exist_as_string(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace("1954-05-07", '"1954-04-31"'))
    assert problems(path) == [
        f"{path}:{line_of(path, 'origin')}: origin: 1954-04-31 is not a date that exists"]


def test_missing_required_keys_point_at_the_entry(tmp_path):
    path = write(tmp_path, """
        [[commemoration]]
        id = "x"
        origin = 1954
        """)
    found = problems(path)
    entry_line = line_of(path, "[[commemoration]]")
    for key in ("title", "category", "description"):
        assert f"{path}:{entry_line}: {key}: required" in found


def test_wrong_types(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace('title = "Chiến thắng Điện Biên Phủ"', "title = 5"))
    assert problems(path) == [
        f"{path}:{line_of(path, 'title')}: title: expected a non-empty string, got an integer"]


def test_unknown_key_is_a_typo_with_a_suggestion(tmp_path):
    path = write(tmp_path, GOOD_ENTRY + "lead_dyas = [7]\n")
    assert problems(path) == [
        f"{path}:{line_of(path, 'lead_dyas')}: lead_dyas: unknown key (did you mean 'lead_days'?)"]


def test_unknown_key_in_the_header_and_at_top_level(tmp_path):
    path = write(tmp_path, GOOD_ENTRY, header=HEADER.replace("theme =", "themes = 1\ntheme ="))
    found = problems(path)
    assert f"{path}:{line_of(path, 'themes')}: themes: unknown key (did you mean 'theme'?)" in found


def test_duplicate_ids_across_files(tmp_path):
    first = write(tmp_path, GOOD_ENTRY, name="a.toml")
    second = write(tmp_path, GOOD_ENTRY, name="b.toml")
    id_line = line_of(first, "id =")  # both files have the same shape
    assert problems(first, second) == [
        f"{second}:{id_line}: id: duplicate id 'dien-bien-phu' (first defined at {first}:{id_line})"]


def test_ordinal_that_disagrees_with_the_computed_one(tmp_path):
    path = write(tmp_path, GOOD_ENTRY + "ordinal = 71\n")
    assert problems(path) == [
        f"{path}:{line_of(path, 'ordinal')}: ordinal: 71 disagrees with the computed "
        "ordinal 70 (2024 − 1954)"]


@pytest.mark.parametrize("value", ["[0]", "[-7]", "[7.5]", '["7"]', "[true]", "7", "[]"])
def test_lead_days_must_be_positive_integers(tmp_path, value):
    path = write(tmp_path, GOOD_ENTRY + f"lead_days = {value}\n")
    (message,) = problems(path)
    assert message.startswith(f"{path}:{line_of(path, 'lead_days')}: lead_days: ")


def test_observed_on_outside_the_designated_year(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace("1954-05-07", "1904") + "observed_on = 2025-07-27\n")
    assert problems(path) == [
        f"{path}:{line_of(path, 'observed_on')}: observed_on: 2025-07-27 is outside the "
        "designated year 2024"]


def test_unknown_category_lists_the_known_ones(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace('"victory"', '"victroy"'))
    (message,) = problems(path)
    assert message.startswith(f"{path}:{line_of(path, 'category')}: category: unknown category")
    assert "birth-anniversary" in message and "victory" in message


def test_origin_not_before_the_designated_year(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace("1954-05-07", "2024-05-07"))
    (message,) = problems(path)
    assert "origin: year 2024 is not before the designated year 2024" in message


def test_bad_slug(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace('"dien-bien-phu"', '"Điện Biên"'))
    (message,) = problems(path)
    assert message.startswith(f"{path}:{line_of(path, 'id =')}: id: expected a slug")


def test_every_problem_is_reported_at_once_across_entries_and_files(tmp_path):
    first = write(tmp_path, GOOD_ENTRY + "ordinal = 1\n" + GOOD_ENTRY.replace(
        '"dien-bien-phu"', '"thuong-duc"').replace("1954-05-07", "1974-08-32x"), name="a.toml")
    second = write(tmp_path, GOOD_ENTRY.replace('"victory"', '"nope"') +
                   GOOD_ENTRY.replace('"dien-bien-phu"', '"other"').replace(
                       'category = "victory"', 'category = "victory"\nlead_days = [0]'),
                   name="b.toml")
    found = problems(first, second)
    # First file: a syntax error stops that file only; the second is still checked in full.
    assert any(f.startswith(f"{first}:") and "TOML syntax error" in f for f in found)
    assert any(f.startswith(f"{second}:") and "category: unknown category" in f for f in found)
    assert any(f.startswith(f"{second}:") and "lead_days:" in f for f in found)
    assert len(found) == 3


def test_all_entry_problems_in_one_file(tmp_path):
    path = write(tmp_path, GOOD_ENTRY + "ordinal = 1\nlead_days = [0]\ncolour = 'red'\n")
    found = problems(path)
    assert [f.split(": ")[1] for f in found] == ["colour", "ordinal", "lead_days"]


def test_missing_file_and_header(tmp_path):
    assert problems(tmp_path / "nope.toml") == [f"{tmp_path / 'nope.toml'}:1: no such file"]
    path = write(tmp_path, GOOD_ENTRY, header="")
    assert any("catalogue: missing [catalogue] table" in p for p in problems(path))


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes((HEADER + GOOD_ENTRY).encode("utf-8") + b'note = "\xe9"\n')
    (message,) = problems(path)
    note_line = len((HEADER + GOOD_ENTRY).splitlines()) + 1
    assert message == f"{path}:{note_line}: not valid UTF-8 (save the file as UTF-8)"


def test_multiline_strings_do_not_confuse_line_numbers(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace('description = "Mô tả."',
                                              'description = """\nfake = 1\n"""\nfake = 2'))
    assert problems(path) == [f"{path}:{line_of(path, 'fake = 2')}: fake: unknown key"]


def test_control_characters_are_refused_with_their_line(tmp_path):
    path = write(tmp_path, GOOD_ENTRY.replace('"Chiến thắng Điện Biên Phủ"',
                                              '"Chiến thắng\\nBcc: x@y"')
                 .replace('"Mô tả."', '"Mô tả.\\u0000"') + 'note = "Hai dòng\\nvà một tab\\t."\n')
    assert problems(path) == [
        f"{path}:{line_of(path, 'Bcc')}: title: control characters are not allowed "
        "(nor line breaks: this is one line)",
        f"{path}:{line_of(path, 'u0000')}: description: control characters are not allowed",
    ]  # the note's line break and tab are prose, and allowed
