"""Only what pyproject.toml cannot say: the wheel carries the repository's top-level
templates/, static/, migrations/ and events/ inside the package, as
calendar_service/_data/ (calendar_service/resources.py finds them there). They stay where
they are in the repository; an editable install reads them in place."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
FOLDERS = ("templates", "static", "migrations", "events")  # = resources.FOLDERS
BUNDLE = "_data"  # = resources.BUNDLE


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the editable install reads the repository's folders in place
        target = Path(self.build_lib) / "calendar_service" / BUNDLE
        for folder in FOLDERS:
            for source in sorted((HERE / folder).rglob("*")):
                if not source.is_file() or "__pycache__" in source.parts \
                        or source.suffix == ".pyc":
                    continue
                destination = target / source.relative_to(HERE)
                self.mkpath(str(destination.parent))
                self.copy_file(str(source), str(destination), preserve_mode=False)


setup(cmdclass={"build_py": BuildWithData})
