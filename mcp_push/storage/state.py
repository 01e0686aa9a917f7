"""A channel's DeliveryState kept in the ledger, so it outlives the process that sent.

Per-target progress belongs to one delivery: a retry scheduled for later, in any worker,
sends only to the targets still owed. Cached credentials (an app's access token) are shared
by every process that uses the same ledger, each valid until its expiry.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from mcp_push.storage.base import Ledger


class LedgerState:
    """The DeliveryState (mcp_push.channels.base) of delivery ``delivery_id``."""

    def __init__(self, ledger: Ledger, delivery_id: int, clock: Callable[[], float] = time.time):
        self._ledger = ledger
        self._delivery_id = delivery_id
        self._clock = clock

    def done_targets(self) -> set[str]:
        return self._ledger.targets_done(self._delivery_id)

    def mark_done(self, target: str) -> None:
        self._ledger.mark_target_done(self._delivery_id, target, self._clock())

    def cached(self, key: str) -> str | None:
        return self._ledger.cache_get(key, self._clock())

    def cache(self, key: str, value: str, ttl: float) -> None:
        self._ledger.cache_put(key, value, self._clock() + ttl)
