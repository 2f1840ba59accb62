"""The dev mailbox: a worker that drains the outbox every second and keeps each sent email as .eml.

In AWS the outbox table's stream and a schedule deliver the emails; `make dev` has neither, so this
thread calls the same `delivery.drain()`, which sends through the embedded moto SES.
"""
from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from chalicelib.core.clock import now

if TYPE_CHECKING:
    from chalicelib.notifications.delivery import Email

log = logging.getLogger(__name__)
_POLICY = policy.default.clone(max_line_length=998)  # long subjects stay on one line


def write_eml(folder: Path, email: Email) -> Path:
    """Save a sent email as `<time>-<template>-<entity id>.eml` (text and HTML alternatives)."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = email.sender
    message["To"] = email.recipient
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain="billing.local")
    message["X-Outbox-Id"] = email.message_id
    message["X-Template"] = email.template
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    folder.mkdir(parents=True, exist_ok=True)
    about = email.message_id.split(":")[1] if email.message_id.count(":") == 2 else email.message_id
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{email.template}-{about}")
    path = folder / f"{now().strftime('%Y%m%dT%H%M%S')}-{name}.eml"
    path.write_bytes(bytes(message))
    return path


class MailWorker:
    """Drains the outbox every `interval` seconds in a daemon thread; one line per email."""

    def __init__(self, folder: Path, interval: float = 1.0,
                 say: Callable[[str], None] = lambda line: print(line, flush=True)) -> None:
        self.folder = folder
        self._interval = interval
        self._say = say
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="mail-worker")
        self._failing = False

    def start(self) -> "MailWorker":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def run_once(self) -> int:
        """Deliver what is due now; the number of emails sent."""
        from chalicelib.notifications import delivery

        sent = 0
        for done in delivery.drain():
            if done.outcome == "sent" and done.email is not None:
                path = write_eml(self.folder, done.email)
                self._say(f"Mail:     to {done.email.recipient} | {done.email.subject} | {path}")
                sent += 1
            elif done.outcome == "held":
                self._say(f"Mail:     {done.message_id} held until its address is verified")
            elif done.outcome in ("retry", "parked", "error"):
                self._say(f"Mail:     {done.message_id} not sent ({done.outcome}): {done.error}")
        return sent

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.run_once()
                self._failing = False
            except Exception:  # keep the worker alive; say it once per outage
                if not self._failing:
                    log.exception("the mail worker could not drain the outbox")
                self._failing = True
