"""Wiring for one process: settings, ledger, Huey queue, HTTP clients and the delivery task.

The server (producer) and every worker (consumer) build the same Runtime, so both
register the same task name on a Huey instance backed by the same queue file.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field

from huey import SqliteHuey
from huey.api import Huey, TaskWrapper

from mcp_push.channels import HttpClients
from mcp_push.config import Settings, prepare_home
from mcp_push.storage import Ledger, open_ledger
from mcp_push.tasks.delivery import Deliverer

log = logging.getLogger(__name__)

TASK_NAME = "mcp_push.deliver"


def make_huey(settings: Settings) -> Huey:
    return SqliteHuey(
        "mcp-push",
        filename=str(settings.queue_path),
        results=False,
        journal_mode="wal",
        timeout=30,
    )


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Runtime:
    settings: Settings
    ledger: Ledger
    huey: Huey
    clients: HttpClients
    owner: str = field(default_factory=new_owner)

    def __post_init__(self) -> None:
        self.deliverer = Deliverer(self.settings, self.ledger, self.clients, self.owner, self.enqueue)
        self._task: TaskWrapper = self.huey.task(name=TASK_NAME)(self.deliverer.run)

    @classmethod
    def open(cls, settings: Settings) -> Runtime:
        prepare_home(settings)
        return cls(settings, open_ledger(settings), make_huey(settings), HttpClients(settings.http_timeout))

    def enqueue(self, delivery_id: int, delay: float = 0.0) -> None:
        """Put a delivery task on the queue, now or after ``delay`` seconds."""
        if delay > 0:
            self._task.schedule(args=(delivery_id,), delay=delay)
        else:
            self._task(delivery_id)

    def sweep(self) -> list[int]:
        """Re-enqueue deliveries whose task was lost (crash, never enqueued, lease expired)."""
        now = time.time()
        due = self.ledger.due_for_sweep(now, stale_after=max(self.settings.lease_seconds, 30.0))
        for delivery_id in due:
            self.enqueue(delivery_id)
        self.ledger.mark_enqueued(due, now)
        if due:
            log.info("sweep re-enqueued %d deliveries", len(due))
        return due

    def close(self) -> None:
        self.clients.close()
        self.ledger.close()
        self.huey.storage.close()
