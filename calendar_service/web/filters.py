"""Jinja filters for Vietnamese dates."""

from __future__ import annotations

from datetime import date

from flask import Flask

from .. import vietnamese


def register(app: Flask) -> None:
    # "short_date" is the older name of the same function, kept for the templates using it.
    app.add_template_filter(vietnamese.official_date, "official_date")
    app.add_template_filter(vietnamese.official_date, "short_date")
    app.add_template_filter(vietnamese.official_datetime, "official_datetime")
    app.add_template_filter(vietnamese.long_date, "long_date")
    # A stored row keeps its origin as year, month and day columns.
    app.add_template_global(lambda y, m, d: vietnamese.official_date(date(y, m, d)),
                            "official_ymd")
    app.add_template_filter(vietnamese.weekday, "weekday")
    app.add_template_global(vietnamese.lunar_label, "lunar_label")
