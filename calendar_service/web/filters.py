"""Jinja filters for Vietnamese dates."""

from __future__ import annotations

from flask import Flask

from .. import vietnamese


def register(app: Flask) -> None:
    app.add_template_filter(vietnamese.short_date, "short_date")
    app.add_template_filter(vietnamese.long_date, "long_date")
    app.add_template_filter(vietnamese.weekday, "weekday")
    app.add_template_global(vietnamese.lunar_label, "lunar_label")
