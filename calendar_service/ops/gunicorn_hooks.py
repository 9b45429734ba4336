"""gunicorn server hooks for the metrics' multiprocess mode. A gunicorn config file
(deploy/gunicorn.conf.py) takes them with one line:

    from calendar_service.ops.gunicorn_hooks import child_exit, on_starting  # noqa: F401

With PROMETHEUS_MULTIPROC_DIR set (in the environment of gunicorn and of the scheduler,
the same writable folder), every process keeps its counters and histograms in files there
and /metrics adds them up.

- `on_starting` (in the arbiter, before any worker): removes the files of processes that
  are no longer running (left by the previous run), so the folder does not grow with
  every restart; the files of a live process (a running `scheduler`) stay. Counters then
  start again from what the live processes hold, which Prometheus reads as a reset.
- `child_exit` (in the arbiter, when a worker ends): marks the worker dead, so that its
  live gauges leave the sums (prometheus-client's mark_process_dead); its counters stay
  counted until the next start.

Without PROMETHEUS_MULTIPROC_DIR both do nothing.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# prometheus-client's file names: counter_1234.db, histogram_1234.db, gauge_livesum_1234.db
_PID = re.compile(r"_(\d+)\.db$")


def _folder() -> Path | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get(
        "prometheus_multiproc_dir")
    return Path(path) if path else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_dead_files(folder: Path) -> list[Path]:
    removed = []
    for path in folder.glob("*.db"):
        found = _PID.search(path.name)
        if found and not _alive(int(found.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def on_starting(server) -> None:
    folder = _folder()
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    removed = remove_dead_files(folder)
    if removed:
        server.log.info("metrics: removed %d file(s) of ended processes from %s",
                        len(removed), folder)


def child_exit(server, worker) -> None:
    if _folder() is None:
        return
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
