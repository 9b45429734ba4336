"""Sign-up confirmation e-mails, sent off the request thread.

The sign-up answers at once, the same way whether or not a message is to be sent: a known
address, an unknown one and one asked for a minute ago take the same time, so the answer's
timing does not tell whether an address is on the list, and a slow mail server holds no web
worker. The message goes out from a small pool of threads (one per process); if it cannot
be sent, the claim is released (`subscribers.release`), the failure logged, and the person
may ask again at once. A message lost because the process stopped before sending it is
asked for again the same way, after the cooldown.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from urllib.parse import urlsplit

from ..app_context import Services
from ..delivery.channels import PermanentFailure, TemporaryFailure
from ..delivery.channels.email import build_confirmation, transport_from_url
from .subscribers import Claim, release

log = logging.getLogger(__name__)


class ConfirmationMailer:
    """One per process (`services.shared(ConfirmationMailer)`)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="confirmation-mail")
        self._pending: set[Future] = set()
        self._lock = threading.Lock()

    def send(self, claim: Claim, confirm_url: str) -> None:
        future = self._pool.submit(self._send, claim, confirm_url)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future) -> None:
        with self._lock:
            self._pending.discard(future)

    def wait(self, timeout: float = 30) -> None:
        """Until every message handed over so far is sent or given up (tests, shutdown)."""
        with self._lock:
            pending = set(self._pending)
        wait(pending, timeout=timeout)

    def _send(self, claim: Claim, confirm_url: str) -> None:
        settings = self.services.settings
        try:
            message = build_confirmation(
                recipient=claim.email, name=claim.name, sender=settings.mail_from,
                confirm_url=confirm_url, sent_at=claim.sent_at,
                host=urlsplit(settings.base_url).hostname or "localhost")
            with transport_from_url(settings.mail_url).connect() as mail:
                mail.send(message)
        except (TemporaryFailure, PermanentFailure, OSError, ValueError) as exc:
            log.warning("sign-up confirmation to subscriber %s not sent: %s",
                        claim.subscriber_id, exc)
            self._release(claim)
        except Exception:  # never lost silently in a pool thread
            log.exception("sign-up confirmation to subscriber %s failed",
                          claim.subscriber_id)
            self._release(claim)

    def _release(self, claim: Claim) -> None:
        try:
            with self.services.database.session() as session:
                release(session, claim)
        except Exception:
            log.exception("could not release the confirmation claim of subscriber %s",
                          claim.subscriber_id)
