"""Where the files that are not Python live: templates, static files and migrations.

The one place that knows the repository's layout; everything else asks here.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
MIGRATIONS = ROOT / "migrations"
