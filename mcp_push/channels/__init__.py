"""Channel registry: every module in this package that defines a Channel subclass with an ``id``.

Adding a provider means adding one module; nothing else needs editing. ``all_channels`` lists the
providers (each one's instance 1); the environment decides which further accounts exist
(``telegram:2`` from ``TG_BOT_TOKEN_2``…, ``apprise:3`` from the third URL): ``channel_instances``,
``configured_channels`` and ``enabled_ids`` see them, ``get_channel_class`` resolves any id.
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
    "channel_instances",
    "configured_channels",
    "configured_secrets",
    "declared_variables",
    "enabled_ids",
    "get_channel_class",
    "known_channels_hint",
    "known_id",
    "missing_variables",
]

_NOT_CHANNELS = {"base", "errors", "redact"}


@cache
def all_channels() -> dict[str, type[Channel]]:
    """Every provider's channel class (its instance 1) by id, in id order; no environment needed."""
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


@cache
def _providers() -> dict[str, type[Channel]]:
    """Instance 1 of every provider by its base id (apprise:1 under "apprise")."""
    return {cls.base_id: cls for cls in all_channels().values()}


def get_channel_class(channel_id: str) -> type[Channel] | None:
    """The class of any channel id: a provider's (``telegram``) or one of its instances
    (``telegram:2``, ``apprise:3``); None for an unknown id or a number out of range."""
    found = all_channels().get(channel_id)
    if found is not None:
        return found
    base_id, sep, number = channel_id.rpartition(":")
    base = _providers().get(base_id) if sep else None
    if base is None or not (number.isascii() and number.isdigit()) or not 1 <= int(number) <= base.max_number:
        return None
    cls = base.instance(int(number))
    return cls if cls.id == channel_id else None  # telegram:1 is "telegram"; telegram:02 is no id


def known_channels_hint() -> str:
    """What to write instead of an unknown channel id (the tools' and the rules' error messages)."""
    return (
        f"known channels are {', '.join(all_channels())}, and a second account of one is <id>:2 … <id>:9 "
        "(telegram:2 reads TG_BOT_TOKEN_2 and TG_USER_ID_2)"
    )


def missing_variables(cls: type[Channel], env: Mapping[str, str]) -> list[str]:
    """The variables to set so that ``cls`` is enabled: its missing required ones, else its first
    required (or first) setting, as this instance names it (TG_BOT_TOKEN_2)."""
    first = [s for s in cls.settings if s.required] or list(cls.settings)
    return cls.missing(env) or [cls.variable(s.name) for s in first[:1]]


def known_id(channel_id: str) -> bool:
    """Whether ``channel_id`` names a channel (configured or not): what a route may list."""
    return get_channel_class(channel_id) is not None


def channel_instances(env: Mapping[str, str]) -> list[type[Channel]]:
    """Every provider's instance 1 and the further instances ``env`` sets variables of, in id order."""
    return [instance for cls in all_channels().values() for instance in cls.instances(env)]


def configured_channels(env: Mapping[str, str]) -> list[type[Channel]]:
    """The instances whose variables ``env`` touches (enabled or incomplete), in id order."""
    return [cls for cls in channel_instances(env) if cls.touched(env)]


def enabled_ids(env: Mapping[str, str]) -> list[str]:
    """Ids of the channel instances whose required variables are all set."""
    return [cls.id for cls in channel_instances(env) if cls.enabled(env)]


@cache
def declared_variables() -> frozenset[str]:
    """Every variable a channel may read: each declared setting and its numbered forms (_2 … _9)."""
    names: set[str] = set()
    for cls in all_channels().values():
        for number in range(1, cls.max_number + 1):
            instance = cls.instance(number)
            names.update(instance.variable(s.name) for s in cls.settings)
    return frozenset(names)


def configured_secrets(env: Mapping[str, str]) -> list[str]:
    """Every secret value of every channel instance the environment touches, as each channel knows them.

    A channel knows more than its secret settings: the key in a webhook URL's path, the password
    in a proxy URL. Viewers that show provider text (the dashboard) mask with these.
    """
    values: list[str] = []
    clients = HttpClients(1.0)  # never used: no channel opens a connection to list its secrets
    try:
        for cls in configured_channels(env):
            scoped = cls.scope(env)
            values.extend(scoped.get(s.name, "") for s in cls.settings if s.secret)
            try:
                values.extend(cls(env, clients=clients).secret_values())
            except Exception:  # a half-configured channel still has its secret settings masked
                continue
    finally:
        clients.close()
    return list(dict.fromkeys(v for v in values if v))
