"""Drafting next year's directive: `calendar-service suggest`, `/api/suggest` — every round
anniversary of a year, ranked and phrased as the directive writes them."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date

import pytest

from calendar_service import drafting
from calendar_service.anniversaries import occurrences
from calendar_service.catalogue import load_catalogue
from tests.conftest import EVENTS_2024, ROOT, Cli

# Section I.7 of the directive, verbatim (copied from ../shared/reference/directive-2024.txt).
DIRECTIVE = ROOT / "tests" / "data" / "directive-2024-I7.txt"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue([EVENTS_2024]).commemorations


def suggested(commemorations, year):
    return drafting.suggest(occurrences(commemorations, date(year, 1, 1), date(year, 12, 31)),
                            year)


def test_2024_drafts_the_directives_own_list(catalogue):
    found = suggested(catalogue, 2024)
    assert len(found) == 12  # section I.7 names twelve, every one round
    texts = [s.text for s in found]
    # Ordinals ending in 0 first (in date order), then the 35th.
    assert texts[-1] == ("Kỷ niệm 35 năm Ngày hội Quốc phòng toàn dân "
                         "(22/12/1989 - 22/12/2024)")
    assert "Kỷ niệm 70 năm ngày Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2024)" in texts
    assert "Kỷ niệm 120 năm Ngày sinh đồng chí Trần Phú (01/5/1904 - 01/5/2024)" in texts
    assert "Kỷ niệm 50 năm ngày Chiến thắng Thượng Đức (07/8/1974 - 07/8/2024)" in texts
    # A year-only origin: the years alone, no invented day.
    assert "Kỷ niệm 110 năm Ngày sinh chiến sĩ cộng sản Huỳnh Ngọc Huệ (1914 - 2024)" in texts
    assert texts[0] == ("Kỷ niệm 110 năm Ngày sinh đồng chí Nguyễn Chí Thanh "
                        "(01/01/1914 - 01/01/2024)")


def test_the_spans_match_the_directive_text(catalogue):
    """Every dated span we write is the one the directive wrote (its I.7 spans)."""
    directive = DIRECTIVE.read_text(encoding="utf-8")
    for s in suggested(catalogue, 2024):
        span = s.text.rsplit("(", 1)[1].rstrip(")")
        if s.occurrence.commemoration.origin is not None:
            assert f"({span})" in directive, span


def test_2029_the_75th_of_dien_bien_phu(catalogue):
    found = {s.id: s for s in suggested(catalogue, 2029)}
    assert found["dien-bien-phu"].text == \
        "Kỷ niệm 75 năm ngày Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2029)"
    assert found["dien-bien-phu"].short == \
        "75 năm ngày Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2029)"
    assert [s.ordinal % 10 for s in found.values()].count(0) == 1  # the 40th of 22/12/1989
    assert next(iter(found)) == "quoc-phong-toan-dan"


def test_a_year_without_round_anniversaries(catalogue):
    assert suggested(catalogue, 2027) == []
    assert "không có ngày kỷ niệm năm tròn" in drafting.to_text([], 2027)


def test_national_before_local_then_the_date(catalogue):
    def ids(scopes: dict[str, str]) -> list[str]:
        entries = [replace(c, scope=scopes.get(c.id, "local")) for c in catalogue]
        return [s.id for s in suggested(entries, 2024)]

    all_local = ids({})
    # A national 80th on 22/12 comes before every local 10×, whatever their dates …
    national = ids({"quan-doi-nhan-dan-viet-nam": "national"})
    assert national[0] == "quan-doi-nhan-dan-viet-nam"
    assert national[1:] == [i for i in all_local if i != "quan-doi-nhan-dan-viet-nam"]
    # … but a national 35th stays after every 10×: 0 before 5 comes first.
    assert ids({"quoc-phong-toan-dan": "national"})[-1] == "quoc-phong-toan-dan"


def test_the_paragraph_reads_as_section_i7(catalogue):
    text = drafting.paragraph(suggested(catalogue, 2029))
    assert text.startswith("Kỷ niệm 40 năm Ngày hội Quốc phòng toàn dân (22/12/1989 - "
                           "22/12/2029); 115 năm Ngày sinh đồng chí Nguyễn Chí Thanh")
    assert text.count("Kỷ niệm") == 1 and text.endswith("(1914 - 2029).")


# --- The command ----------------------------------------------------------------------------

def test_suggest_prints_a_numbered_list(loaded):
    result = Cli(loaded)("suggest", "--year", "2029")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "CÁC NGÀY KỶ NIỆM NĂM TRÒN, NĂM CHẴN NĂM 2029 (12: 1 năm tròn, 11 năm chẵn)"
    assert lines[2] == ("1. Kỷ niệm 40 năm Ngày hội Quốc phòng toàn dân "
                        "(22/12/1989 - 22/12/2029);")
    assert "5. Kỷ niệm 75 năm ngày Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2029);" in lines
    assert lines[13].startswith("12. ") and lines[13].endswith(".")


def test_suggest_writes_a_word_document(loaded, tmp_path):
    from docx import Document
    from docx.shared import Pt

    target = tmp_path / "du-thao-2029.docx"
    result = Cli(loaded)("suggest", "--year", "2029", "-o", str(target))
    assert result.exit_code == 0, result.output
    doc = Document(io.BytesIO(target.read_bytes()))
    texts = [p.text for p in doc.paragraphs]
    assert texts[0] == "CÁC NGÀY KỶ NIỆM NĂM TRÒN, NĂM CHẴN NĂM 2029"
    items = [p for p in doc.paragraphs if p.style.name == "List Number"]
    assert len(items) == 12
    assert items[4].text == \
        "Kỷ niệm 75 năm ngày Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2029);"
    assert items[-1].text.endswith("(1914 - 2029).")
    for name in ("Normal", "List Number", "Title"):
        font = doc.styles[name].font
        assert (font.name, font.size) == ("Times New Roman", Pt(14))
    assert doc.core_properties.language == "vi-VN"


def test_suggest_writes_a_designation_file(loaded, tmp_path):
    target = tmp_path / "2029.toml"
    result = Cli(loaded)("suggest", "--year", "2029", "--format", "toml", "-o", str(target))
    assert result.exit_code == 0, result.output
    import tomllib

    data = tomllib.loads(target.read_text(encoding="utf-8"))
    assert data["catalogue"]["designates"] == 2029
    assert data["designation"][0] == {"id": "quoc-phong-toan-dan", "ordinal": 40}
    assert {"id": "dien-bien-phu", "ordinal": 75} in data["designation"]
    assert len(data["designation"]) == 12


@pytest.mark.parametrize(("args", "message"), [
    (("--year", "2029", "--format", "docx", "-o", "x.toml"), "does not match"),
    (("--year", "1800"), "1800"),
    (("--year", "2029", "--format", "pdf"), "pdf"),
])
def test_suggest_refuses_bad_arguments(loaded, tmp_path, args, message):
    args = tuple(str(tmp_path / a) if a.endswith(".toml") else a for a in args)
    result = Cli(loaded)("suggest", *args)
    assert result.exit_code != 0 and message in result.output


# --- The API ----------------------------------------------------------------------------------

def test_the_api_gives_the_same_list(client):
    body = client.get("/api/suggest?year=2029").get_json()
    assert body["year"] == 2029 and len(body["items"]) == 12
    first = body["items"][0]
    assert first["rank"] == 1 and first["text"].startswith("Kỷ niệm 40 năm Ngày hội Quốc phòng")
    assert first["occurrence"]["id"] == "quoc-phong-toan-dan"
    assert body["paragraph"].count("Kỷ niệm") == 1
    # Without a year: next year by the service's clock (27/11/2026 → 2027, none round).
    assert client.get("/api/suggest").get_json() == {
        "year": 2027, "heading": "Các ngày kỷ niệm năm tròn, năm chẵn năm 2027",
        "paragraph": "", "items": []}


@pytest.mark.parametrize("query", ["year=abc", "year=1800", "year=", "year=2029&year=2030"])
def test_the_api_refuses_a_bad_year(client, query):
    response = client.get(f"/api/suggest?{query}")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


def test_a_yearly_observance_is_never_suggested_and_a_lunar_origin_gets_its_years(catalogue):
    from calendar_service.catalogue.model import LunarDay

    base = next(c for c in catalogue if c.id == "dien-bien-phu")
    tet = replace(base, id="tet-nguyen-dan", title="Tết Nguyên đán", category="national-day",
                  origin_year=None, origin_month=None, origin_day=None, lunar=LunarDay(1, 1))
    dong_da = replace(base, id="ngoc-hoi-dong-da", title="Chiến thắng Ngọc Hồi - Đống Đa",
                      origin_year=1789, origin_month=None, origin_day=None,
                      lunar=LunarDay(1, 5))
    found = suggested([tet, dong_da], 2029)
    assert [s.text for s in found] == [
        "Kỷ niệm 240 năm ngày Chiến thắng Ngọc Hồi - Đống Đa (1789 - 2029, 5/1 âm lịch)"]


# --- With every catalogue: scopes, and a designation file that `check` and `load` take ------

EVENTS = sorted(str(p) for p in (ROOT / "events").glob("*.toml"))


@pytest.fixture
def everything(services):
    result = Cli(services)("load", *EVENTS)
    assert result.exit_code == 0, result.output
    return services


def test_national_before_local_in_the_default_catalogues(everything):
    result = Cli(everything)("suggest", "--year", "2025", "--format", "text")
    items = [line for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert items[1] == ("2. Kỷ niệm 50 năm Ngày Giải phóng miền Nam, thống nhất đất nước "
                        "(30/4/1975 - 30/4/2025);")
    from calendar_service.app import create_app

    suggestions = create_app(everything).test_client().get(
        "/api/suggest?year=2025").get_json()["items"]
    ranks = [(0 if s["occurrence"]["round_rank"] == 2 else 1,
              0 if s["scope"] == "national" else 1) for s in suggestions]
    assert ranks == sorted(ranks)  # ×10 first, national before local within each
    assert ("Kỷ niệm 50 năm Ngày giải phóng tỉnh Quảng Nam (24/3/1975 - 24/3/2025)"
            in [s["text"] for s in suggestions])
    assert all("Tết" not in s["text"] for s in suggestions)  # no ordinal, never suggested


def test_the_designation_file_passes_check_and_load(everything, tmp_path):
    cli = Cli(everything)
    target = tmp_path / "2027.toml"
    assert cli("suggest", "--year", "2027", "-o", str(target)).exit_code == 0
    checked = cli("check", *EVENTS, str(target))
    assert checked.exit_code == 0, checked.output
    assert "0 commemorations defined, 5 designated for 2027: OK" in checked.output
    assert cli("load", *EVENTS, str(target)).exit_code == 0
    listed = cli("occurrences", "--from", "2027-01-01", "--to", "2027-12-31", "--round",
                 "--json")
    import json

    rounds = json.loads(listed.stdout)
    assert len(rounds) == 5 and all(o["designated"] for o in rounds)
