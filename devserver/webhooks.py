"""The dev webhook worker: in AWS a schedule runs the webhook delivery every minute; `make dev`
runs it every second in this thread, so a receiver on this machine sees events at once."""
from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class WebhookWorker:
    def __init__(self, interval: float = 1.0) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="webhook-worker")
        self._failing = False

    def start(self) -> "WebhookWorker":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        from chalicelib.webhooks import delivery

        while not self._stop.wait(self._interval):
            try:
                report = delivery.run()
                for delivery_id in report.attempted:
                    outcome = "delivered" if delivery_id in report.delivered else "not delivered"
                    print(f"Webhook:  {delivery_id} {outcome}", flush=True)
                self._failing = False
            except Exception:  # keep the worker alive; say it once per outage
                if not self._failing:
                    log.exception("the webhook worker could not deliver")
                self._failing = True
