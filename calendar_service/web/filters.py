"""Jinja filters for Vietnamese dates, and today's names of renamed places and agencies."""

from __future__ import annotations

from datetime import date

from flask import Flask, g

from .. import vietnamese
from ..catalogue.renames import with_today_name
from ..clock import today
from .context import services


def register(app: Flask) -> None:
    app.add_template_filter(vietnamese.official_date, "official_date")
    app.add_template_filter(vietnamese.official_datetime, "official_datetime")
    app.add_template_filter(vietnamese.long_date, "long_date")
    # A stored row keeps its origin as year, month and day columns.
    app.add_template_global(lambda y, m, d: vietnamese.official_date(date(y, m, d)),
                            "official_ymd")
    app.add_template_filter(vietnamese.weekday, "weekday")
    app.add_template_global(vietnamese.lunar_label, "lunar_label")
    app.add_template_filter(_today_name, "today_name")


def _today_name(text: str | None) -> str | None:
    """A place or agency as written, with today's name beside it when it has changed since
    (the renames of the catalogue, as of the service's today)."""
    if not text:
        return text
    if "renames" not in g:  # once per request: a page names many agencies
        svc = services()
        g.renames = (svc.renames.all(), today(svc.clock))
    renames, as_of = g.renames
    return with_today_name(text, renames, as_of)
