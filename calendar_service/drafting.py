"""Drafting next year's directive from the data: every round anniversary of a year, ranked
and written as the directive's section I.7 writes them, as text, a designation file
(`events/Y.toml`) or a Word document.

Pure Python over the engine's occurrences (python-docx, for the Word document, is imported
only when one is written). The rules:
- a suggestion is a round occurrence (ordinal divisible by 5) of year Y; a commemoration
  without a historical year (a yearly observance such as Tết) has no ordinal, so none;
- ranked: ordinals ending in 0 before those ending in 5, then national before local
  (`Commemoration.scope`), then by date (an undated one last), then by title;
- phrased as the 2024 directive does (reference/directive-2024.txt, I.7): "Kỷ niệm 70 năm
  ngày Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2024)", "Kỷ niệm 120 năm Ngày sinh đồng
  chí Trần Phú (01/5/1904 - 01/5/2024)": the commemoration's title, "ngày" before a
  victory's name (the directive's "ngày Chiến thắng Thượng Đức"), and the span of dates —
  the years alone ("1914 - 2024") when the historical day is not known.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import tomli_w

from .anniversaries import Occurrence
from .planning import span

NATIONAL, LOCAL = "national", "local"


def scope_of(occ: Occurrence) -> str:
    """"national" or "local"; a catalogue without scopes counts as local."""
    return getattr(occ.commemoration, "scope", None) or LOCAL


def phrase(occ: Occurrence) -> str:
    """What is commemorated, as the directive names it after "Kỷ niệm N năm"."""
    c = occ.commemoration
    title = c.title
    if c.category == "victory" and not title.casefold().startswith("ngày"):
        return f"ngày {title}"
    return title


@dataclass(frozen=True, slots=True)
class Suggestion:
    occurrence: Occurrence
    text: str  # Kỷ niệm 75 năm ngày Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2029)
    short: str  # the same without "Kỷ niệm ", as the directive lists the items after the first

    @property
    def id(self) -> str:
        return self.occurrence.id

    @property
    def ordinal(self) -> int:
        return self.occurrence.ordinal

    @property
    def scope(self) -> str:
        return scope_of(self.occurrence)


def rank(occ: Occurrence) -> tuple:
    national = 0 if scope_of(occ) == NATIONAL else 1
    day = occ.date or date(occ.year, 12, 31)
    return (-occ.round_rank, national, day, occ.date is None, occ.commemoration.title, occ.id)


def suggest(occurrences: Iterable[Occurrence], year: int) -> list[Suggestion]:
    """The round anniversaries of `year` among `occurrences`, ranked and phrased."""
    found = [o for o in occurrences
             if o.year == year and o.ordinal and o.ordinal > 0 and o.is_round]
    found.sort(key=rank)
    out = []
    for o in found:
        short = f"{o.ordinal} năm {phrase(o)} ({span(o)})"
        out.append(Suggestion(occurrence=o, text=f"Kỷ niệm {short}", short=short))
    return out


def heading(year: int) -> str:
    return f"Các ngày kỷ niệm năm tròn, năm chẵn năm {year}"


def paragraph(suggestions: Sequence[Suggestion]) -> str:
    """The items in one run, as section I.7 writes them: "Kỷ niệm" once, then "; "."""
    if not suggestions:
        return ""
    return "; ".join([suggestions[0].text, *(s.short for s in suggestions[1:])]) + "."


# --- Text ------------------------------------------------------------------------------------

def to_text(suggestions: Sequence[Suggestion], year: int) -> str:
    if not suggestions:
        return f"Năm {year} không có ngày kỷ niệm năm tròn, năm chẵn nào trong danh mục."
    tens = sum(1 for s in suggestions if s.occurrence.round_rank == 2)
    lines = [f"{heading(year).upper()} ({len(suggestions)}: {tens} năm tròn, "
             f"{len(suggestions) - tens} năm chẵn)", ""]
    for n, s in enumerate(suggestions, 1):
        lines.append(f"{n}. {s.text};" if n < len(suggestions) else f"{n}. {s.text}.")
    lines += ["", "Viết liền, như mục I.7 của chỉ thị:", paragraph(suggestions)]
    return "\n".join(lines) + "\n"


# --- A designation file (events/Y.toml) ------------------------------------------------------

def to_toml(suggestions: Sequence[Suggestion], year: int) -> str:
    """A catalogue file that defines nothing and designates the suggestions for `year`:
    `[catalogue] designates = Y, directive, theme` and one `[[designation]]` (id, ordinal)
    per suggestion, each under a comment with its phrasing. `check` with the files that
    define the entries passes it."""
    def value(v) -> str:
        return tomli_w.dumps({"v": v}).partition("=")[2].strip()

    lines = [
        f"# Drafted by `calendar-service suggest --year {year} --format toml`: every round",
        f"# anniversary of {year} in the loaded catalogues, ranked. Remove what the directive",
        "# will not name, give the directive's number and theme, then `check` and `load`.",
        "",
        "[catalogue]",
        f"designates = {year}",
        f"directive = {value(f'Dự thảo chỉ thị năm {year}')}",
        f"theme = {value(heading(year))}",
    ]
    for n, s in enumerate(suggestions, 1):
        lines += ["", f"# {n}. {s.text}", "[[designation]]", f"id = {value(s.id)}",
                  f"ordinal = {s.ordinal}"]
    return "\n".join(lines) + "\n"


# --- A Word document (python-docx) -----------------------------------------------------------

FONT = "Times New Roman"  # Decree 30/2020/NĐ-CP, Appendix I: Times New Roman, Unicode (TCVN 6909)
SIZE = 14


def to_docx(suggestions: Sequence[Suggestion], year: int) -> bytes:
    """The list as the directive's section would read: a heading, the numbered items, in
    Times New Roman 14 (Decree 30/2020's font for administrative documents), A4 with its
    margins."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21), Cm(29.7)
    section.top_margin = section.bottom_margin = Cm(2)
    section.left_margin, section.right_margin = Cm(3), Cm(1.5)

    for name in ("Normal", "List Number", "Title"):
        style = doc.styles[name]
        style.font.name = FONT
        style.font.size = Pt(SIZE)
        # East Asian and complex-script text take the font from rFonts' other attributes.
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attribute), FONT)
        style.font.color.rgb = None
    doc.core_properties.title = heading(year)
    doc.core_properties.author = "calendar-service"
    doc.core_properties.language = "vi-VN"

    title = doc.add_paragraph(style="Title")
    run = title.add_run(heading(year).upper())
    run.bold = True
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    intro = doc.add_paragraph(
        "Hướng dẫn, định hướng công tác tuyên truyền và tổ chức các hoạt động nhân các ngày "
        "lễ lớn, sự kiện lịch sử, chính trị trọng đại của đất nước, của tỉnh, ngày sinh của "
        "các đồng chí lãnh đạo Đảng, Nhà nước; lãnh đạo chủ chốt, danh nhân, nhân vật tiêu "
        "biểu của tỉnh:")
    intro.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    if not suggestions:
        doc.add_paragraph(f"Năm {year} không có ngày kỷ niệm năm tròn, năm chẵn nào trong "
                          f"danh mục.")
    for n, s in enumerate(suggestions, 1):
        item = doc.add_paragraph(s.text + (";" if n < len(suggestions) else "."),
                                 style="List Number")
        item.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    for paragraph_ in doc.paragraphs:
        paragraph_.paragraph_format.space_after = Pt(6)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


FORMATS = ("text", "toml", "docx")
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
