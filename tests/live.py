"""The app served over real HTTP on loopback, in a thread, sharing the test's services."""

from __future__ import annotations

import threading

from werkzeug.serving import make_server

from calendar_service.app import create_app


class LiveServer:
    def __init__(self, services) -> None:
        self.app = create_app(services)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
