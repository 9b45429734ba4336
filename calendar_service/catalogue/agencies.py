"""Agencies (cơ quan): who carries out the communications work of a directive's section II
and who follows it up. Value types and the fixed vocabulary of roles; `loader.py` reads
them from `[[agency]]` tables."""

from __future__ import annotations

from dataclasses import dataclass

# The directive's section II: II.2 names the lead and coordinating agencies of the
# communications work, II.3 those who follow it up and report.
ROLES = {
    "lead": "Chủ trì",
    "coordinating": "Phối hợp",
    "follow-up": "Theo dõi, đôn đốc, báo cáo",
}


@dataclass(frozen=True, slots=True)
class Agency:
    id: str
    name: str  # the official Vietnamese name
    short_names: tuple[str, ...]  # the first is what tables and grids show
    role: str
    source: str
    emails: tuple[str, ...] = ()  # contacts that get task notices
    webhook: str | None = None  # the agency's chat channel, told of the same notices
    source_file: str | None = None

    @property
    def short(self) -> str:
        return self.short_names[0]

    @property
    def role_label(self) -> str:
        return ROLES[self.role]
