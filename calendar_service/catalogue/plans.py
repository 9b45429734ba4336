"""Plan templates: which activities an occurrence gets, who does each and by when. Value
types and the fixed vocabulary of activity kinds; `loader.py` reads them from `[[template]]`
tables and `planning.py` applies them to occurrences."""

from __future__ import annotations

import string
from dataclasses import dataclass

# The forms of communication provincial plans list (shared/reference/communications-plans.md,
# section 1), as a fixed vocabulary: reports and filters count by kind.
ACTIVITY_KINDS = {
    "huong-dan": "Hướng dẫn tuyên truyền (đề cương, khẩu hiệu)",
    "bai-viet": "Bài viết, chuyên mục báo in",
    "tin-bai-cong": "Tin bài trên Cổng thông tin điện tử",
    "pt-th": "Chương trình, phóng sự phát thanh – truyền hình",
    "co-dong": "Cổ động trực quan (băng rôn, pa-nô, khẩu hiệu)",
    "le-ky-niem": "Lễ kỷ niệm, mít tinh",
    "hoi-thao": "Hội thảo, tọa đàm",
    "trien-lam": "Triển lãm, trưng bày",
    "bao-cao": "Báo cáo kết quả",
}

# What a task title may say about its occurrence (planning.task_title fills them in):
#   {occurrence}  Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ (07/5/1954 - 07/5/2024)
#   {title}       Kỷ niệm 70 năm Chiến thắng Điện Biên Phủ
#   {name}        Chiến thắng Điện Biên Phủ
#   {ordinal}     70
#   {year}        2024
TITLE_FIELDS = ("occurrence", "title", "name", "ordinal", "year")
DEFAULT_NOTICE_DAYS = (7, 1)
MAX_OFFSET_DAYS = 366  # a due day or window at most a year before or after the occurrence


def title_fields(pattern: str) -> list[str]:
    """The {fields} a title pattern uses; raises ValueError for a malformed pattern."""
    return [name for _, name, spec, conversion in string.Formatter().parse(pattern)
            if name is not None or spec or conversion]


@dataclass(frozen=True, slots=True)
class Activity:
    kind: str
    title: str  # a pattern with TITLE_FIELDS
    agency: str  # the responsible agency's id
    coordinating: tuple[str, ...] = ()
    due: int = 0  # days relative to the occurrence (−30: thirty days before)
    window: tuple[int, int] | None = None  # days the activity runs, relative too

    @property
    def key(self) -> str:
        """Stable within its template: what ties a generated task to this activity."""
        return f"{self.kind}@{self.agency}"

    @property
    def kind_label(self) -> str:
        return ACTIVITY_KINDS[self.kind]


@dataclass(frozen=True, slots=True)
class PlanTemplate:
    """A rule: the occurrences it applies to, and their activities. An occurrence takes the
    first template (in file order) that applies to it."""

    id: str
    name: str
    activities: tuple[Activity, ...]
    categories: frozenset[str] | None = None  # None: any category
    round: bool | None = None  # True: round years only; False: the other years only
    designated: bool | None = None  # True: designated occurrences only; False: the others
    commemorations: frozenset[str] | None = None  # None: any commemoration
    notice_days: tuple[int, ...] = DEFAULT_NOTICE_DAYS
    source: str | None = None
    source_file: str | None = None
