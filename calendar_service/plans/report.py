"""The year's follow-up report (directive, section II.3): how far each commemoration's plan
and each agency's share of the work have come, and the addresses of what was published.

`build_report` reads the store once (narrow queries, no ORM objects for the tasks) and
returns plain values; the renderers below turn those into text for the terminal, CSV, XLSX
and JSON. No Flask here: the `report` command and the admin page share all of it.

What the figures mean:
- a row counts every task of the year for that occurrence (or agency): to do, in progress,
  done and cancelled add up to the total;
- overdue is judged at the report's moment (`as_of`): an open task (to do or in progress)
  whose due day is before that day; a task whose day is to be decided is never overdue;
- the completion rate is done / (tasks − cancelled): a cancelled task is no longer asked
  for; with nothing left to count the rate is None ("—");
- the result links are every link of every task of the year, done or not, in the order of
  the occurrences and, within one, of the due days.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..anniversaries import occurrence_in
from ..store.models import ACTIVE, AgencyRow
from ..store.queries import values_among
from ..vietnamese import official_date, official_datetime, spreadsheet_date_format
from .models import CANCELLED, DONE, IN_PROGRESS, OPEN, STATUSES, TODO, TaskRow

TITLE = "Báo cáo kết quả thực hiện kế hoạch tuyên truyền năm {year}"
NO_DAY = "chưa xác định ngày"
TOTAL = "Tổng cộng"
SHEETS = ("Theo ngày kỷ niệm", "Theo cơ quan", "Kết quả")
# The agencies of section II.2 that lead, those that carry out, then the follow-up ones.
ROLE_ORDER = {"lead": 0, "coordinating": 1, "follow-up": 2}


# --- The report as values --------------------------------------------------------------------

@dataclass
class Counts:
    """Tasks by status; `overdue` is a part of the open ones (to do and in progress)."""

    tasks: int = 0
    todo: int = 0
    in_progress: int = 0
    done: int = 0
    cancelled: int = 0
    overdue: int = 0

    def add(self, status: str, overdue: bool) -> None:
        self.tasks += 1
        if status == TODO:
            self.todo += 1
        elif status == IN_PROGRESS:
            self.in_progress += 1
        elif status == DONE:
            self.done += 1
        elif status == CANCELLED:
            self.cancelled += 1
        self.overdue += overdue

    @property
    def counted(self) -> int:
        """The tasks the rate counts: all but the cancelled ones."""
        return self.tasks - self.cancelled

    @property
    def rate(self) -> float | None:
        """done / (tasks − cancelled); None when no task is left to count."""
        return self.done / self.counted if self.counted else None

    def as_dict(self) -> dict:
        return {"tasks": self.tasks, "todo": self.todo, "in_progress": self.in_progress,
                "done": self.done, "cancelled": self.cancelled, "overdue": self.overdue,
                "rate": None if self.rate is None else round(self.rate, 4)}


@dataclass(frozen=True)
class OccurrenceLine:
    id: str  # the commemoration's
    title: str  # "Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ"
    date: date | None  # None: to be decided
    active: bool  # False: the commemoration was cancelled (its open tasks with it)
    counts: Counts


@dataclass(frozen=True)
class AgencyLine:
    id: str
    name: str
    short: str
    counts: Counts


@dataclass(frozen=True)
class ResultLink:
    commemoration_id: str
    occurrence: str  # the occurrence's title
    date: date | None  # the occurrence's day
    task_id: int
    task: str  # the task's title
    agency_id: str
    agency: str  # the agency's short name
    status: str
    done_on: date | None  # local day the task was marked done
    url: str


@dataclass(frozen=True)
class Report:
    year: int
    as_of: datetime  # aware, in the service's timezone
    occurrences: list[OccurrenceLine]
    agencies: list[AgencyLine]
    total: Counts
    links: list[ResultLink] = field(default_factory=list)

    @property
    def today(self) -> date:
        """The day overdue is judged at."""
        return self.as_of.date()

    @property
    def empty(self) -> bool:
        return self.total.tasks == 0

    @property
    def title(self) -> str:
        return TITLE.format(year=self.year)


def build_report(session: Session, year: int, as_of: datetime, tz: tzinfo) -> Report:
    """The year's report, with overdue judged on `as_of`'s day in `tz` (the service's
    timezone). Reads: the year's tasks (narrow columns), their commemorations and agencies."""
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=tz)
    as_of = as_of.astimezone(tz).replace(microsecond=0)
    today = as_of.date()
    t = TaskRow
    tasks = session.execute(
        select(t.id, t.commemoration_id, t.title, t.agency_id, t.status, t.due_on, t.links,
               t.done_at)
        .where(t.year == year)
        .order_by(t.due_on.is_(None), t.due_on, t.id)).all()
    in_year = select(t.commemoration_id).where(t.year == year)
    occurrences: dict[str, tuple[tuple, OccurrenceLine]] = {}
    for ident, (value, status) in values_among(session, in_year).items():
        occ = occurrence_in(value, year)
        if occ is not None:
            key, title, day = occ.sort_key(), occ.title, occ.date
        else:  # no anniversary that year any more (its origin was changed): still reported
            key, title, day = (date(year, 12, 31), 1, ident), value.title, None
        occurrences[ident] = (key, OccurrenceLine(ident, title, day, status == ACTIVE,
                                                  Counts()))
    agencies = {a.id: AgencyLine(a.id, a.name, a.short, Counts()) for a in session.scalars(
        select(AgencyRow).where(AgencyRow.id.in_(select(t.agency_id).where(t.year == year))))}
    roles = dict(session.execute(select(AgencyRow.id, AgencyRow.role)).all())
    total = Counts()
    links = []
    for ident, c_id, title, agency_id, status, due, urls, done_at in tasks:
        overdue = status in OPEN and due is not None and due < today
        total.add(status, overdue)
        _, line = occurrences[c_id]
        line.counts.add(status, overdue)
        agency = agencies[agency_id]
        agency.counts.add(status, overdue)
        done_on = done_at.astimezone(tz).date() if done_at is not None else None
        links += [ResultLink(c_id, line.title, line.date, ident, title, agency_id,
                             agency.short, status, done_on, url) for url in urls or ()]
    rank = {ident: n for n, (ident, _) in enumerate(sorted(occurrences.items(),
                                                           key=lambda item: item[1][0]))}
    links.sort(key=lambda link: rank[link.commemoration_id])  # stable: due order within
    return Report(
        year=year, as_of=as_of,
        occurrences=[line for _, line in sorted(occurrences.values(), key=lambda v: v[0])],
        agencies=sorted(agencies.values(),
                        key=lambda a: (ROLE_ORDER.get(roles.get(a.id, ""), 9), a.id)),
        total=total, links=links)


# --- How figures are written -----------------------------------------------------------------

def percent(counts: Counts) -> str:
    """The rate as Vietnamese writes it, rounded down to a tenth (so 100% only when every
    counted task is done): 66,6%, 100%, — when nothing is left to count."""
    if not counts.counted:
        return "—"
    tenths = counts.done * 1000 // counts.counted
    whole, tenth = divmod(tenths, 10)
    return f"{whole}%" if tenth == 0 else f"{whole},{tenth}%"


def whole_percent(counts: Counts) -> str:
    """The rate for the CSV: a whole number, rounded down; empty when nothing is counted.
    A whole number reads as a number in a spreadsheet whatever its decimal separator."""
    return "" if not counts.counted else str(counts.done * 100 // counts.counted)


def day_text(day: date | None) -> str:
    return official_date(day) if day is not None else NO_DAY


def moment_text(moment: datetime) -> str:
    return official_datetime(moment)


COUNT_HEADERS = ("Số việc", "Chưa làm", "Đang làm", "Đã xong", "Quá hạn", "Đã hủy")


def _numbers(counts: Counts) -> tuple[int, ...]:
    return (counts.tasks, counts.todo, counts.in_progress, counts.done, counts.overdue,
            counts.cancelled)


# --- Text (the terminal) ---------------------------------------------------------------------

def to_text(report: Report) -> str:
    """A readable Vietnamese report: the figures first, the long titles last on each line."""
    out = [report.title.upper(),
           f"Tính đến {moment_text(report.as_of)}; quá hạn: việc chưa xong có hạn trước ngày "
           f"{official_date(report.today)}. Tỷ lệ hoàn thành = đã xong / (số việc − đã hủy).",
           ""]
    if report.empty:
        out.append(f"Năm {report.year} chưa có việc nào (chạy: calendar-service plans generate "
                   f"--year {report.year}).")
        return "\n".join(out)
    figures = (*COUNT_HEADERS, "Tỷ lệ")
    out += ["THEO NGÀY KỶ NIỆM", *_table(
        ("Ngày", *figures, "Kỷ niệm"),
        [(day_text(o.date), *_figures(o.counts),
          o.title + ("" if o.active else " (đã hủy)")) for o in report.occurrences],
        ("", *_figures(report.total), TOTAL)), ""]
    out += ["THEO CƠ QUAN", *_table(
        (*figures, "Cơ quan"),
        [(*_figures(a.counts), a.name) for a in report.agencies],
        (*_figures(report.total), TOTAL)), ""]
    out.append(f"KẾT QUẢ ({len(report.links)} liên kết)")
    if not report.links:
        out.append("Chưa có liên kết kết quả nào.")
    for link in report.links:
        state = STATUSES.get(link.status, link.status).lower()
        out.append(f"- {link.occurrence} — {link.agency}: {link.task} ({state})")
        out.append(f"  {link.url}")
    return "\n".join(out)


def _figures(counts: Counts) -> tuple[str, ...]:
    return (*map(str, _numbers(counts)), percent(counts))


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]], total: tuple[str, ...]
           ) -> list[str]:
    """Columns padded to their widest cell (numbers to the right), the last one free."""
    body = [header, *rows, total]
    last = len(header) - 1
    widths = [max(len(row[i]) for row in body) for i in range(last)]
    numeric = [all(row[i].replace(",", "").rstrip("%").isdigit() or row[i] in ("", "—")
                   for row in (*rows, total)) for i in range(last)]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[i].rjust(w) if numeric[i] and row is not header else row[i].ljust(w)
                 for i, w in enumerate(widths)]
        return "  ".join([*cells, row[last]]).rstrip()

    rule = "  ".join("-" * w for w in widths) + "  " + "-" * 8
    return [line(header), rule, *map(line, rows), rule, line(total)]


# --- CSV (Excel, LibreOffice) ----------------------------------------------------------------

CSV_MIMETYPE = "text/csv; charset=utf-8"


def to_csv(report: Report) -> bytes:
    """One CSV with the three parts one under the other, as on the printed page: each part
    starts with its name on a line of its own, then a header row, then its rows (and, for
    the first two, a total row), then an empty line. UTF-8 with a byte order mark, so Excel
    reads the Vietnamese right; days as YYYY-MM-DD, which every spreadsheet reads as a date
    whatever its locale; rates as whole percentages (see `whole_percent`)."""
    buffer = io.StringIO()
    w = csv.writer(buffer, lineterminator="\r\n")
    w.writerow([report.title])
    w.writerow(["Tính đến", report.as_of.strftime("%Y-%m-%d %H:%M")])
    w.writerow([])
    rate = "Tỷ lệ hoàn thành (%)"
    w.writerow([SHEETS[0]])
    w.writerow(["Ngày", "Kỷ niệm", "Mã", *COUNT_HEADERS, rate])
    for o in report.occurrences:
        w.writerow([o.date.isoformat() if o.date else NO_DAY,
                    _cell(o.title + ("" if o.active else " (đã hủy)")), o.id,
                    *_numbers(o.counts), whole_percent(o.counts)])
    w.writerow(["", TOTAL, "", *_numbers(report.total), whole_percent(report.total)])
    w.writerow([])
    w.writerow([SHEETS[1]])
    w.writerow(["Cơ quan", "Tên viết tắt", "Mã", *COUNT_HEADERS, rate])
    for a in report.agencies:
        w.writerow([_cell(a.name), _cell(a.short), a.id, *_numbers(a.counts),
                    whole_percent(a.counts)])
    w.writerow([TOTAL, "", "", *_numbers(report.total), whole_percent(report.total)])
    w.writerow([])
    w.writerow([SHEETS[2]])
    w.writerow(["Ngày", "Kỷ niệm", "Việc", "Cơ quan", "Trạng thái", "Ngày xong", "Liên kết"])
    for link in report.links:
        w.writerow([link.date.isoformat() if link.date else NO_DAY, _cell(link.occurrence),
                    _cell(link.task), _cell(link.agency), STATUSES.get(link.status, link.status),
                    link.done_on.isoformat() if link.done_on else "", link.url])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _cell(text: str) -> str:
    """Text a spreadsheet must not take for a formula (a task title typed as "=…")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# --- XLSX (openpyxl) -------------------------------------------------------------------------

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RATE_FORMAT = "0.0%"


def to_xlsx(report: Report) -> bytes:
    """Three sheets (SHEETS), each with a bold, frozen header row and an autofilter, set
    column widths, days as real dates shown as officials write them (07/5/2024,
    01/02/2024) and rates as numbers shown as %.
    The same report gives the same bytes: the document's dates and the zip entries' times
    are the report's moment, never the time of writing."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.writer.excel import ExcelWriter

    bold = Font(bold=True)
    wb = Workbook()
    wb.remove(wb.active)
    counts = [(h, 11) for h in COUNT_HEADERS]
    rate = ("Tỷ lệ hoàn thành", 17)

    def sheet(title: str, columns: list[tuple[str, int]]):
        ws = wb.create_sheet(title)
        ws.append([name for name, _ in columns])
        for cell in ws[1]:
            cell.font = bold
        for n, (_, width) in enumerate(columns, 1):
            ws.column_dimensions[_letter(n)].width = width
        ws.freeze_panes = "A2"
        return ws

    def finish(ws, rows: int, total_row: bool) -> None:
        """`rows`: the data rows below the header (counted: ws.max_row scans every cell)."""
        last = rows + 1 + total_row
        ws.auto_filter.ref = f"A1:{_letter(len(ws[1]))}{last - total_row}"
        if total_row:
            for cell in ws[last]:
                cell.font = bold

    rate_column = len(COUNT_HEADERS) + 4
    ws = sheet(SHEETS[0], [("Ngày", 19), ("Kỷ niệm", 60), ("Mã", 24), *counts, rate])
    for o in report.occurrences:
        _row(ws, [o.date or NO_DAY, o.title + ("" if o.active else " (đã hủy)"), o.id,
                  *_numbers(o.counts), o.counts.rate], dates=(1,), rate=rate_column)
    _row(ws, [None, TOTAL, None, *_numbers(report.total), report.total.rate],
         rate=rate_column)
    finish(ws, len(report.occurrences), True)

    ws = sheet(SHEETS[1], [("Cơ quan", 50), ("Tên viết tắt", 18), ("Mã", 16), *counts, rate])
    for a in report.agencies:
        _row(ws, [a.name, a.short, a.id, *_numbers(a.counts), a.counts.rate], rate=rate_column)
    _row(ws, [TOTAL, None, None, *_numbers(report.total), report.total.rate],
         rate=rate_column)
    finish(ws, len(report.agencies), True)

    ws = sheet(SHEETS[2], [("Ngày", 19), ("Kỷ niệm", 50), ("Việc", 60), ("Cơ quan", 18),
                           ("Trạng thái", 12), ("Ngày xong", 12), ("Liên kết", 60)])
    link_font = Font(color="0563C1", underline="single")  # the look of Excel's links
    for link in report.links:
        cells = _row(ws, [link.date or NO_DAY, link.occurrence, link.task, link.agency,
                          STATUSES.get(link.status, link.status), link.done_on, link.url],
                     dates=(1, 6))
        cells[6].hyperlink = link.url
        cells[6].font = link_font
    finish(ws, len(report.links), False)

    moment = report.as_of.astimezone(timezone.utc).replace(tzinfo=None)
    wb.properties.creator = "calendar-service"
    wb.properties.title = report.title
    wb.properties.description = f"Tính đến {moment_text(report.as_of)}"
    wb.properties.created = wb.properties.modified = moment
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(wb, archive).save()  # not wb.save(): it stamps "modified" with now
    return _fixed_times(raw.getvalue(), report.as_of.timetuple()[:6])


def _letter(n: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(n)


def _row(ws, values: list, dates: tuple[int, ...] = (), rate: int | None = None) -> list:
    """Append a row and format it: days as dates, the rate as a percentage; text cells
    stay text (openpyxl would take a string starting with "=" for a formula)."""
    from openpyxl.cell import Cell

    cells = [Cell(ws, value=value) for value in values]
    for column in dates:
        if isinstance(values[column - 1], date):
            cells[column - 1].number_format = spreadsheet_date_format(values[column - 1])
    if rate is not None:
        cells[rate - 1].number_format = RATE_FORMAT
    for cell in cells:
        if cell.data_type == "f":
            cell.data_type = "s"
    ws.append(cells)
    return cells


def _fixed_times(data: bytes, when: tuple[int, ...]) -> bytes:
    """The same zip with every entry dated `when` (zipfile dates entries with the clock)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as target:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = info.external_attr
            target.writestr(entry, source.read(info))
    return out.getvalue()


# --- JSON ------------------------------------------------------------------------------------

JSON_MIMETYPE = "application/json"


def to_dict(report: Report) -> dict:
    """The stable JSON form: fixed keys in a fixed order, days as YYYY-MM-DD (None: to be
    decided), rates as fractions rounded to four places (None: nothing to count)."""
    return {
        "year": report.year,
        "as_of": report.as_of.isoformat(),
        "today": report.today.isoformat(),
        "total": report.total.as_dict(),
        "commemorations": [
            {"id": o.id, "title": o.title, "date": o.date.isoformat() if o.date else None,
             "active": o.active, **o.counts.as_dict()} for o in report.occurrences],
        "agencies": [{"id": a.id, "name": a.name, "short_name": a.short, **a.counts.as_dict()}
                     for a in report.agencies],
        "links": [
            {"commemoration": link.commemoration_id, "occurrence": link.occurrence,
             "task": link.task_id, "title": link.task, "agency": link.agency_id,
             "status": link.status,
             "done_on": link.done_on.isoformat() if link.done_on else None,
             "url": link.url} for link in report.links],
    }


def to_json(report: Report) -> str:
    return json.dumps(to_dict(report), ensure_ascii=False, indent=2)


# --- Formats ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Format:
    name: str
    extension: str
    mimetype: str
    render: Callable[[Report], bytes]

    def body(self, report: Report) -> bytes:
        return self.render(report)


FORMATS = {
    "text": Format("text", "txt", "text/plain; charset=utf-8",
                   lambda r: (to_text(r) + "\n").encode("utf-8")),
    "csv": Format("csv", "csv", CSV_MIMETYPE, to_csv),
    "xlsx": Format("xlsx", "xlsx", XLSX_MIMETYPE, to_xlsx),
    "json": Format("json", "json", JSON_MIMETYPE, lambda r: (to_json(r) + "\n").encode("utf-8")),
}


def filename(year: int, fmt: Format) -> str:
    """bao-cao-tuyen-truyen-2024.xlsx: ASCII, so every browser and mail client keeps it."""
    return f"bao-cao-tuyen-truyen-{year}.{fmt.extension}"
