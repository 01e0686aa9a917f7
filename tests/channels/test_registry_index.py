"""``DECLARED`` (which variables each channel module declares) is only an index of the modules:
it must name exactly their settings, and ``enabled_ids`` from it must say what a look at every
module says, so a hook can skip the modules its environment can not enable."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from mcp_push.channels import (
    DECLARED,
    _classes_of,
    all_channels,
    channel_instances,
    channel_modules,
    enabled_ids,
)
from mcp_push.channels.base import MAX_INSTANCES
from tests.helpers import fresh_python


def _declared_by(module: str) -> tuple[str, ...]:
    """The setting names of the channels ``module`` defines, in order, each once."""
    names = [s.name for cls in _classes_of([module]).values() for s in cls.settings]
    return tuple(dict.fromkeys(names))


def _every_module_looked_at(env: Mapping[str, str]) -> list[str]:
    """What enabled_ids answered before the index: every instance of every channel, asked."""
    return [cls.id for cls in channel_instances(env) if cls.enabled(env)]


def test_declared_names_each_modules_settings_exactly() -> None:
    wrong = {m: _declared_by(m) for m in channel_modules() if DECLARED.get(m) != _declared_by(m)}
    lines = "\n".join(f"    {m!r}: {names!r}," for m, names in wrong.items()).replace("'", '"')
    assert not wrong, f"in mcp_push/channels/__init__.py, DECLARED must read:\n{lines}"


def test_declared_lists_no_module_that_is_gone() -> None:
    gone = sorted(set(DECLARED) - set(channel_modules()))
    assert not gone, f"remove from DECLARED in mcp_push/channels/__init__.py: {gone}"


def test_every_module_of_the_registry_defines_a_channel() -> None:
    # A helper module belongs in _NOT_CHANNELS: else every enabled_ids imports it.
    empty = [m for m in channel_modules() if not _classes_of([m])]
    assert not empty, f"add to _NOT_CHANNELS in mcp_push/channels/__init__.py: {empty}"
    assert {cls.__module__.rsplit(".", 1)[1] for cls in all_channels().values()} == set(channel_modules())


def _environments() -> list[dict[str, str]]:
    """Each channel alone with its required settings at their examples, then as instance 2 too, one
    with only optional settings, one with blank values, all together, several Apprise URLs."""
    envs: list[dict[str, str]] = [{}, {"PATH": "/usr/bin", "MCP_PUSH_HOME": "/tmp/x"}]
    together: dict[str, str] = {}
    for cls in all_channels().values():
        required = {s.name: s.example or "x" for s in cls.settings if s.required}
        optional = {s.name: s.example or "x" for s in cls.settings if not s.required}
        numbered = {f"{name}_2": value for name, value in required.items()}
        envs += [required, {**required, **numbered}, numbered, optional, {name: " " for name in required}]
        together.update(required)
    envs += [together, {"APPRISE_URLS": "ntfy://a json://b.example mailto://c@d.example"}]
    envs += [{"CONSOLE": "false"}, {"CONSOLE": "yes"}, {f"TG_BOT_TOKEN_{MAX_INSTANCES + 1}": "1:x"}]
    return envs


@pytest.mark.parametrize("env", _environments())
def test_enabled_ids_say_what_every_module_says(env: dict[str, str]) -> None:
    assert enabled_ids(env) == _every_module_looked_at(env)


def test_a_module_the_index_does_not_know_is_still_looked_at(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(DECLARED, "ntfy")
    assert enabled_ids({"NTFY_TOPIC": "alerts"}) == ["ntfy"]


def test_enabled_ids_import_only_the_modules_the_environment_names() -> None:
    code = (
        "import sys; from mcp_push.channels import enabled_ids; "
        "print(enabled_ids({'NTFY_TOPIC': 'alerts', 'TG_BOT_TOKEN_2': '1:x'})); "
        "print(sorted(m for m in sys.modules if m.startswith('mcp_push.channels.')))"
    )
    ids, modules = fresh_python(code).splitlines()
    assert ids == "['ntfy']"  # telegram:2 lacks TG_USER_ID_2
    assert "mcp_push.channels.telegram" in modules and "mcp_push.channels.ntfy" in modules
    assert "mcp_push.channels.slack" not in modules and "mcp_push.channels.seal" not in modules
