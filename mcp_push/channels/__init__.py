"""Channel registry: every module in this package that defines a Channel subclass with an ``id``.

Adding a provider means adding one module; nothing else needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Mapping
from functools import cache

from mcp_push.channels.base import Channel, HttpClients, Message, Receipt
from mcp_push.channels.errors import DeliveryError, PermanentError, RateLimitedError, TransientError

__all__ = [
    "Channel",
    "DeliveryError",
    "HttpClients",
    "Message",
    "PermanentError",
    "RateLimitedError",
    "Receipt",
    "TransientError",
    "all_channels",
    "configured_secrets",
    "enabled_ids",
    "get_channel_class",
]

_NOT_CHANNELS = {"base", "errors", "redact"}


@cache
def all_channels() -> dict[str, type[Channel]]:
    """Every known channel class by id, in id order."""
    found: dict[str, type[Channel]] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_CHANNELS or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Channel)
                and value.__module__ == module.__name__
                and getattr(value, "id", None)
            ):
                found[value.id] = value
    return dict(sorted(found.items(), key=lambda item: _natural(item[0])))


def _natural(channel_id: str) -> list[str | int]:
    """Sort key that puts apprise:2 before apprise:10 (numbered ids come from APPRISE_URLS)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", channel_id)]


def get_channel_class(channel_id: str) -> type[Channel] | None:
    return all_channels().get(channel_id)


def enabled_ids(env: Mapping[str, str]) -> list[str]:
    """Ids of the channels whose required variables are all set."""
    return [cid for cid, cls in all_channels().items() if cls.enabled(env)]


def configured_secrets(env: Mapping[str, str]) -> list[str]:
    """Every secret value of every channel the environment touches, as each channel knows them.

    A channel knows more than its secret settings: the key in a webhook URL's path, the password
    in a proxy URL. Viewers that show provider text (the dashboard) mask with these.
    """
    values: list[str] = []
    clients = HttpClients(1.0)  # never used: no channel opens a connection to list its secrets
    try:
        for cls in all_channels().values():
            if not cls.touched(env):
                continue
            values.extend(env.get(s.name, "") for s in cls.settings if s.secret)
            try:
                values.extend(cls(env, clients=clients).secret_values())
            except Exception:  # a half-configured channel still has its secret settings masked
                continue
    finally:
        clients.close()
    return [v for v in values if v]
