"""The declarations are the single source: every channel Setting and every mcp-push setting
is in config.sh.example and the docs, and the configuration doc's table is rendered from
``mcp_push.config.SETTINGS``."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from mcp_push.channels import all_channels
from mcp_push.config import SETTINGS, Settings, doc_table, load_settings, parse_config_file
from mcp_push.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (ROOT / "config.sh.example").read_text()
CHANNELS_DOC = (ROOT / "docs" / "channels.md").read_text()
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text()

CHANNEL_SETTINGS = sorted({s.name for cls in all_channels().values() for s in cls.settings})
OWN_SETTINGS = [knob.var for knob in SETTINGS]
NUMBERS = [knob for knob in SETTINGS if knob.kind in ("int", "float")]


def _in_example(name: str) -> bool:
    """A commented-out assignment of ``name`` (several may share one `# export` line)."""
    return re.search(rf"(?m)^#\s*export\s.*(?<![\w]){re.escape(name)}=", EXAMPLE) is not None


def test_config_sh_example_assigns_every_declared_variable() -> None:
    missing = [name for name in [*CHANNEL_SETTINGS, *OWN_SETTINGS] if not _in_example(name)]
    assert not missing, f"add to config.sh.example (commented out, with an example): {missing}"


def _example_values() -> dict[str, str]:
    """What config.sh.example would set if every `# export` statement were uncommented."""
    statements: list[str] = []
    for line in EXAMPLE.splitlines():
        if line.startswith("# export "):
            statements.append(line[2:])
        elif statements and statements[-1].count("'") % 2 and line.startswith("# "):
            statements[-1] += "\n" + line[2:]  # a quoted value over several lines (WEBHOOK_BODY)
    values: dict[str, str] = {}
    for statement in statements:
        values.update(parse_config_file(statement))
    return values


def test_config_sh_example_shows_each_declared_example() -> None:
    values = _example_values()
    declared = {s.name: s.example for cls in all_channels().values() for s in cls.settings if s.example}
    wrong = {name: (values.get(name), example) for name, example in declared.items() if values.get(name) != example}
    assert not wrong, f"config.sh.example value vs the Setting's example: {wrong}"


def test_channels_doc_names_every_channel_setting() -> None:
    missing = [name for name in CHANNEL_SETTINGS if f"`{name}" not in CHANNELS_DOC]
    assert not missing, f"describe in docs/channels.md: {missing}"


def test_configuration_doc_table_is_the_declaration() -> None:
    table = doc_table()
    assert table in CONFIG_DOC, (
        "docs/configuration.md's settings table differs from mcp_push.config.SETTINGS; replace it with the output "
        "of `python -c 'from mcp_push.config import doc_table; print(doc_table(), end=\"\")'`:\n" + table
    )


def test_every_settings_field_but_the_resolved_ones_is_declared() -> None:
    fields = {f.name for f in dataclasses.fields(Settings)} - {"home", "env", "config_file"}
    assert fields == {knob.field for knob in SETTINGS if knob.field}


def test_unset_settings_take_the_declared_defaults(tmp_path) -> None:
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path)})
    for knob in SETTINGS:
        if knob.field:
            assert getattr(settings, knob.field) == knob.default, knob.var


@pytest.mark.parametrize("knob", NUMBERS, ids=lambda knob: knob.var)
def test_numbers_are_read_and_their_minimum_enforced(tmp_path, knob) -> None:
    home = {"MCP_PUSH_HOME": str(tmp_path)}
    value = (knob.minimum or 0) + 2
    assert getattr(load_settings({**home, knob.var: f" {value} "}), knob.field) == value
    with pytest.raises(ConfigError, match=knob.var):
        load_settings({**home, knob.var: str((knob.minimum or 0) - 1)})
    with pytest.raises(ConfigError, match=knob.var):
        load_settings({**home, knob.var: "soon"})


def test_stop_grace_is_a_setting_and_the_ceilings_stay_in_lifecycle(tmp_path) -> None:
    from mcp_push.tasks.lifecycle import DRAIN_GRACE_MAX, stop_grace

    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path), "MCP_PUSH_STOP_GRACE": "9"})
    assert settings.stop_grace == 9
    assert stop_grace(settings) == 9 and stop_grace(settings, DRAIN_GRACE_MAX) == DRAIN_GRACE_MAX
    with pytest.raises(ConfigError, match="MCP_PUSH_STOP_GRACE"):
        load_settings({"MCP_PUSH_HOME": str(tmp_path), "MCP_PUSH_STOP_GRACE": "nan"})


def test_a_bad_backend_url_is_named_without_its_password(tmp_path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"MCP_PUSH_HOME": str(tmp_path), "MCP_PUSH_DB_URL": "mysql://u:p@ss%40w0rd@db.example.com/x"})
    assert "db.example.com" in str(caught.value) and "w0rd" not in str(caught.value)


def test_the_floor_venv_installs_exactly_pyproject_lower_bounds() -> None:
    """tests/floor-constraints.txt (.ci/run's floor venv) pins every runtime dependency at its lower bound."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = [*project["dependencies"], *project["optional-dependencies"]["postgres"]]
    required += project["optional-dependencies"]["redis"]
    lines = (ROOT / "tests" / "floor-constraints.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line.strip() and not line.startswith("#"))
    for spec in required:
        name = re.split(r"[\[<>=!~,; ]", spec, maxsplit=1)[0]
        floor = re.search(r">=\s*([\w.]+)", spec)
        assert floor, f"{spec}: give it a lower bound"
        want = tuple(int(part) for part in floor.group(1).split("."))
        got = tuple(int(part) for part in pins.get(name, "0").split("."))
        assert got + (0,) * (3 - len(got)) == want + (0,) * (3 - len(want)), f"{name}: pyproject >= {floor.group(1)}"


# A variable a channel reads: self.get("X"), env.get("X"), self.env.get("X"), env["X"], or the same with a
# module constant (VARIABLE) for the name. Instances read NAME_<n> only for declared names: an undeclared
# one would be shared by every account (and missing from config.sh.example and the docs).
_READ = re.compile(
    r"""(?:\bself|\benv|\bself\.env)(?:\.get\(|\[)\s*(?:["']([A-Z][A-Z0-9_]*)["']|([A-Z][A-Z0-9_]*)\b)"""
)


def _reads(module: object, source: str) -> set[str]:
    names = set()
    for literal, constant in _READ.findall(source):
        value = literal or getattr(module, constant, None)
        if isinstance(value, str):
            names.add(value)
    return names


def test_no_channel_module_reads_a_variable_it_does_not_declare() -> None:
    import importlib

    declared: dict[str, set[str]] = {}
    for cls in all_channels().values():
        declared.setdefault(cls.__module__, set()).update(s.name for s in cls.settings)
    found = {}
    for module_name, names in declared.items():
        module = importlib.import_module(module_name)
        source = Path(module.__file__ or "").read_text()
        read = _reads(module, source)
        assert read, f"{module_name}: no variable read found: does the pattern above still match its code?"
        undeclared = sorted(n for n in read - names if not n.startswith("MCP_PUSH_"))
        if undeclared:
            found[module_name] = undeclared
    assert not found, f"declare these as Settings of their channel (or read them through one): {found}"


def test_the_read_pattern_sees_every_form() -> None:
    module = type("M", (), {"VARIABLE": "FROM_CONSTANT"})
    source = 'self.get("A_ONE") env.get("B_TWO", "") self.env.get(\'C_THREE\') env["D_FOUR"] env.get(VARIABLE, "")'
    assert _reads(module, source) == {"A_ONE", "B_TWO", "C_THREE", "D_FOUR", "FROM_CONSTANT"}
