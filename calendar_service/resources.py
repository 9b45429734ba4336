"""Where the files that are not Python live: templates, static files, migrations and the
bundled catalogue.

The one place that knows the layout; everything else asks here. A wheel carries them inside
the package, as `calendar_service/_data/` (setup.py copies the repository's top-level
folders there when it builds); a source checkout or an editable install has no `_data` and
reads the repository's folders, next to the package, so an edit shows at once.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

BUNDLE = "_data"  # setup.py writes the same name
FOLDERS = ("templates", "static", "migrations", "events")


def _root() -> Path:
    package = files(__package__)
    if not isinstance(package, Path):  # pragma: no cover - a zipped install
        raise RuntimeError("calendar_service must be installed as files, not inside a zip")
    bundled = package / BUNDLE
    if bundled.is_dir():
        return bundled
    return package.resolve().parent  # the repository, beside the package


ROOT = _root()
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
MIGRATIONS = ROOT / "migrations"
EVENTS = ROOT / "events"
