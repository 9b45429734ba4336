"""The fixed vocabulary of categories, with their Vietnamese labels and reminder defaults.

Lead times live here so that most catalogue entries need none: a round anniversary (ordinal
divisible by 5) gets a longer runway, because that is when the larger ceremonies are held.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    label: str
    description: str
    lead_days: tuple[int, ...]
    lead_days_round: tuple[int, ...]


CATEGORIES: dict[str, Category] = {
    c.slug: c
    for c in (
        Category(
            "victory",
            "Chiến thắng",
            "Chiến thắng, trận đánh lịch sử",
            lead_days=(14, 7, 1),
            lead_days_round=(60, 30, 14, 7, 1),
        ),
        Category(
            "historic-event",
            "Sự kiện lịch sử",
            "Sự kiện lịch sử, chính trị trọng đại",
            lead_days=(14, 7, 1),
            lead_days_round=(60, 30, 14, 7, 1),
        ),
        Category(
            "founding",
            "Ngày thành lập",
            "Ngày thành lập lực lượng, tổ chức, ngành",
            lead_days=(14, 7, 1),
            lead_days_round=(60, 30, 14, 7, 1),
        ),
        Category(
            "national-day",
            "Ngày lễ, ngày hội",
            "Ngày lễ lớn, ngày hội toàn dân",
            lead_days=(14, 7, 1),
            lead_days_round=(60, 30, 14, 7, 1),
        ),
        Category(
            "birth-anniversary",
            "Ngày sinh",
            "Ngày sinh lãnh đạo Đảng, Nhà nước, danh nhân, nhân vật tiêu biểu",
            lead_days=(7, 1),
            lead_days_round=(30, 14, 7, 1),
        ),
    )
}
