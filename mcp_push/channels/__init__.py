"""Channel registry: every module in this package that defines a Channel subclass with an ``id``.

Adding a provider means adding one module; nothing else needs editing. ``all_channels`` lists the
providers (each one's instance 1); the environment decides which further accounts exist
(``telegram:2`` from ``TG_BOT_TOKEN_2``…, ``apprise:3`` from the third URL): ``channel_instances``,
``configured_channels`` and ``enabled_ids`` see them, ``get_channel_class`` resolves any id.

``enabled_ids`` runs in every one-shot producer (each ``mcp-push hook`` and ``send``): it imports
only the modules whose variables the environment sets, found in ``DECLARED``, so a hook does not
pay for 28 modules to use one. The modules stay the truth: ``DECLARED`` only says which ones can
not be enabled, a test checks it against them and names the line to add for a new channel, and a
module missing from it is imported every time (slower, never wrong).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Mapping
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

_NOT_CHANNELS = {"base", "errors", "redact", "seal"}  # the helpers: they define no channel

# The variables each channel module declares (the names of its classes' settings): enabled_ids
# imports a module only when one of them, or a numbered form (NAME_2 …), is set.
DECLARED: dict[str, tuple[str, ...]] = {
    "aibotk": ("AIBOTK_KEY", "AIBOTK_TYPE", "AIBOTK_NAME"),
    "apprise_urls": ("APPRISE_URLS",),
    "bark": ("BARK_PUSH", "BARK_ARCHIVE", "BARK_GROUP", "BARK_SOUND", "BARK_ICON", "BARK_LEVEL", "BARK_URL"),
    "chronocat": ("CHRONOCAT_URL", "CHRONOCAT_QQ", "CHRONOCAT_TOKEN"),
    "console": ("CONSOLE",),
    "dingtalk": ("DD_BOT_TOKEN", "DD_BOT_SECRET"),
    "discord": ("DISCORD_WEBHOOK_URL",),
    "feishu": ("FSKEY", "FSSECRET"),
    "gocqhttp": ("GOBOT_URL", "GOBOT_QQ", "GOBOT_TOKEN"),
    "gotify": ("GOTIFY_URL", "GOTIFY_TOKEN", "GOTIFY_PRIORITY"),
    "igot": ("IGOT_PUSH_KEY",),
    "ntfy": (
        "NTFY_TOPIC",
        "NTFY_URL",
        "NTFY_PRIORITY",
        "NTFY_TOKEN",
        "NTFY_USERNAME",
        "NTFY_PASSWORD",
        "NTFY_ACTIONS",
        "NTFY_REPLY_TOPIC",
    ),
    "pushdeer": ("DEER_KEY", "DEER_URL"),
    "pushme": ("PUSHME_KEY", "PUSHME_URL"),
    "pushover": ("PUSHOVER_TOKEN", "PUSHOVER_USER"),
    "pushplus": (
        "PUSH_PLUS_TOKEN",
        "PUSH_PLUS_USER",
        "PUSH_PLUS_TEMPLATE",
        "PUSH_PLUS_CHANNEL",
        "PUSH_PLUS_WEBHOOK",
        "PUSH_PLUS_CALLBACKURL",
        "PUSH_PLUS_TO",
    ),
    "qmsg": ("QMSG_KEY", "QMSG_TYPE"),
    "serverchan": ("PUSH_KEY",),
    "slack": ("SLACK_WEBHOOK_URL",),
    "smtp": (
        "SMTP_SERVER",
        "SMTP_SSL",
        "SMTP_EMAIL",
        "SMTP_PASSWORD",
        "SMTP_NAME",
        "SMTP_CA_FILE",
        "SMTP_ALLOW_PLAINTEXT",
    ),
    "synology_chat": ("CHAT_URL", "CHAT_TOKEN"),
    "telegram": ("TG_BOT_TOKEN", "TG_USER_ID", "TG_API_HOST", "TG_PROXY_HOST", "TG_PROXY_PORT", "TG_PROXY_AUTH"),
    "webhook": ("WEBHOOK_URL", "WEBHOOK_METHOD", "WEBHOOK_CONTENT_TYPE", "WEBHOOK_HEADERS", "WEBHOOK_BODY"),
    "wecom_app": ("QYWX_AM", "QYWX_ORIGIN"),
    "wecom_bot": ("QYWX_KEY", "QYWX_ORIGIN"),
    "weplus": ("WE_PLUS_BOT_TOKEN", "WE_PLUS_BOT_RECEIVER", "WE_PLUS_BOT_VERSION"),
    "wxpusher": ("WXPUSHER_APP_TOKEN", "WXPUSHER_TOPIC_IDS", "WXPUSHER_UIDS"),
}


@cache
def channel_modules() -> tuple[str, ...]:
    """The names of the modules in this package that define channels (``ntfy``, ``apprise_urls``)."""
    return tuple(
        info.name
        for info in pkgutil.iter_modules(__path__)
        if info.name not in _NOT_CHANNELS and not info.name.startswith("_")
    )


def _classes_of(module_names: Iterable[str]) -> dict[str, type[Channel]]:
    """The provider classes the named modules define, by id, in id order."""
    found: dict[str, type[Channel]] = {}
    for name in module_names:
        module = importlib.import_module(f"{__name__}.{name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, Channel)
                and value.__module__ == module.__name__
                and getattr(value, "id", None)
            ):
                found[value.id] = value
    return dict(sorted(found.items(), key=lambda item: _natural(item[0])))


@cache
def all_channels() -> dict[str, type[Channel]]:
    """Every provider's channel class (its instance 1) by id, in id order; no environment needed."""
    return _classes_of(channel_modules())


def _modules_env_may_enable(env: Mapping[str, str]) -> list[str]:
    """The channel modules ``env`` sets a variable of (NAME, or NAME_2 … for an instance), and any
    module ``DECLARED`` does not know yet: the only ones a channel can be enabled from."""
    names = set()
    for key, value in env.items():
        if value.strip():
            names.add(key)
            base, sep, number = key.rpartition("_")
            if sep and number.isdigit():
                names.add(base)
    return [m for m in channel_modules() if m not in DECLARED or not names.isdisjoint(DECLARED[m])]


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
    """Ids of the channel instances whose required variables are all set, in id order (what
    ``channel_instances`` would list), looking only at the modules the environment can enable."""
    providers = _classes_of(_modules_env_may_enable(env)).values()
    return [instance.id for cls in providers for instance in cls.instances(env) if instance.enabled(env)]


@cache
def declared_variables() -> frozenset[str]:
    """Every variable a channel may read: each declared setting and its numbered forms (_2 … _9)."""
    return frozenset(name for cls in all_channels().values() for name in cls.variables())


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
