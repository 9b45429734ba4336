"""A page of a longer list, and a query read a page at a time: what every paged admin list
uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    total: int
    number: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def paged(session: Session, query: Select, number: int, per_page: int) -> Page[Any]:
    """Page `number` of `query`'s rows, and how many there are in all."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.execute(query.offset((number - 1) * per_page).limit(per_page)).all()
    return Page(rows, total or 0, number, per_page)
