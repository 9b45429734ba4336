"""The production topology on this machine, from the shipped files in deploy/: nginx with the
site's locations (paths and ports templated into a temporary prefix, run as the current user
with its own pid file, no TLS), gunicorn with deploy/gunicorn.conf.py, schedulers. Used by
tests/test_topology.py and bench/nginx_feed.py."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

# The shipped files' paths, and what the test puts in their place.
FEEDS = "/var/lib/calendar-service/feeds"
UPSTREAM = "127.0.0.1:8000"
SNIPPETS = "/etc/nginx/snippets/"


def find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


class Server:
    """A process in its own session, stopped with all its children at the end."""

    def __init__(self, name: str, argv: list[str], log: Path, **popen) -> None:
        self.name = name
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, **popen)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(wait)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._log_file.close()


def wait_until(predicate, timeout: float, what: str, *servers: Server):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for server in servers:
            if not server.alive():
                raise RuntimeError(f"{server.name} exited while {what}:\n{server.tail()}")
        with contextlib.suppress(OSError):
            found = predicate()
            if found:
                return found
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout:.0f} s {what}\n"
                       + "\n".join(f"--- {s.name}:\n{s.tail()}" for s in servers))


def http(url: str, headers: dict[str, str] | None = None, method: str = "GET",
         timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:  # 304 and errors
        return exc.code, dict(exc.headers), exc.read()


def shipped(name: str, prefix: Path, feeds: Path, upstream: str) -> str:
    text = (DEPLOY / "nginx" / name).read_text()
    return (text.replace(FEEDS, str(feeds)).replace(UPSTREAM, upstream)
            .replace(SNIPPETS, f"{prefix}/"))


NGINX_CONF = """\
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log {access_log};
    client_body_temp_path {prefix}/tmp/client_body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
{body}
}}
"""


def nginx_config(prefix: Path, port: int, feeds: Path, upstream: str, *,
                 access_log: bool = True) -> Path:
    """nginx.conf in `prefix`: the shipped http-level file, and one plain-HTTP server on
    `port` with the shipped locations (the site file's TLS server is checked apart)."""
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    for name in ("calendar-service-locations.conf", "calendar-service-proxy.conf"):
        (prefix / name).write_text(shipped(name, prefix, feeds, upstream))
    body = (shipped("calendar-service-http.conf", prefix, feeds, upstream)
            + f"server {{\n    listen {HOST}:{port};\n    server_name localhost;\n"
            f"    include {prefix}/calendar-service-locations.conf;\n}}\n")
    conf = prefix / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        prefix=prefix, body=body, access_log=f"{prefix}/access.log" if access_log else "off",
        # As root the workers would become "nobody", who cannot read a private temp dir.
        user="user root;" if os.geteuid() == 0 else ""))
    return conf


def start_nginx(nginx: str, prefix: Path, conf: Path, port: int) -> Server:
    server = Server("nginx", [nginx, "-p", str(prefix), "-c", str(conf), "-e",
                              str(prefix / "error.log"), "-g", "daemon off;"],
                    prefix / "nginx.out")
    try:
        wait_until(lambda: listening(port), 20, "waiting for nginx", server)
    except BaseException:
        server.stop()
        raise
    return server


def start_gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> Server:
    argv = [str(BIN / "gunicorn"), "--config", str(DEPLOY / "gunicorn.conf.py"),
            "--bind", f"{HOST}:{port}", "--workers", str(workers)]
    server = Server("gunicorn", argv, log, env=env, cwd=log.parent)
    try:
        wait_until(lambda: listening(port), 60, "waiting for gunicorn", server)
    except BaseException:
        server.stop()
        raise
    return server
