"""How a send can fail. The delivery task decides retry or not from the class alone."""

from __future__ import annotations


class DeliveryError(Exception):
    """A provider did not accept the message. ``reason`` is shown to users (redacted)."""

    def __init__(self, reason: str, *, code: str | int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Retrying will not help: bad token, bad signature, chat not found, malformed request."""


class TransientError(DeliveryError):
    """Worth another try later: timeouts, refused connections, 5xx, the provider's 'busy' codes."""


class RateLimitedError(TransientError):
    """The provider asked us to slow down; ``retry_after`` says for how long when it told us."""
