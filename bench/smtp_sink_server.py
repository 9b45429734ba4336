"""A counting SMTP sink for bench/reminders.py, meant to run in its own process.

    .venv/bin/python bench/smtp_sink_server.py [--port 0] [--timeout 900]

It starts an aiosmtpd Controller on 127.0.0.1 whose handler accepts every message and only
counts it (messages, recipients, bytes): no parsing, no storage, so the sink costs the sender
as little as an SMTP server can. It prints one line, `READY <port>`, on stdout once it
listens, then answers commands read from stdin, one per line:

    COUNT   ->  `COUNT <messages> <recipients> <bytes>`
    QUIT    ->  stops the server and exits

Every loop is bounded: the process exits on QUIT, when stdin closes (its parent died), or
after --timeout seconds, whichever comes first.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading

from aiosmtpd.controller import Controller


class CountingHandler:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages = 0
        self.recipients = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):
        size = len(envelope.original_content or envelope.content or b"")
        with self.lock:
            self.messages += 1
            self.recipients += len(envelope.rcpt_tos)
            self.bytes += size
        return "250 Message accepted"

    def snapshot(self) -> tuple[int, int, int]:
        with self.lock:
            return self.messages, self.recipients, self.bytes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="counting SMTP sink (aiosmtpd)")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="exit after this many seconds whatever happens "
                             "(default: %(default)s)")
    args = parser.parse_args(argv)

    handler = CountingHandler()
    port = args.port or free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    done = threading.Event()

    def commands() -> None:
        try:
            for line in sys.stdin:  # ends at EOF: the parent closed the pipe or died
                command = line.strip().upper()
                if command == "COUNT":
                    messages, recipients, size = handler.snapshot()
                    print(f"COUNT {messages} {recipients} {size}", flush=True)
                elif command == "QUIT":
                    break
                elif command:
                    print(f"ERROR unknown command {command!r}", flush=True)
        finally:
            done.set()

    threading.Thread(target=commands, name="sink-commands", daemon=True).start()
    print(f"READY {port}", flush=True)
    try:
        done.wait(args.timeout)
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
