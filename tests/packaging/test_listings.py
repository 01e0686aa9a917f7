"""Listings: the MCP Registry's server.json, the Claude Desktop bundle (MCPB) and the Claude Code plugin."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import jsonschema
import pytest

from mcp_push import __version__
from mcp_push.channels import all_channels
from tests.packaging.conftest import ROOT, clean_env, run, tool

SCHEMA = ROOT / "tests" / "data" / "server.schema.2025-12-11.json"
SCHEMA_SHA256 = "d4c163f299ece68b7432f4e44c4108f2fdb663d99dc088c8344142e5b0a4b520"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SETTINGS = {s.name: s for cls in all_channels().values() for s in cls.settings}
MAIN_CHANNELS = ("ntfy", "telegram", "dingtalk", "feishu", "wecom_bot", "bark", "gotify")


def load(name: str) -> dict:
    return json.loads((ROOT / name).read_text())


def required_of(channel: str) -> set[str]:
    return {s.name for s in all_channels()[channel].settings if s.required}


# --- server.json ------------------------------------------------------------------------------


def test_the_schema_copy_is_the_pinned_one() -> None:
    data = SCHEMA.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256, "tests/data/README.md says where it comes from"
    assert len(data) == 22193
    jsonschema.Draft7Validator.check_schema(json.loads(data))


def test_server_json_is_valid_for_the_registry() -> None:
    schema = json.loads(SCHEMA.read_text())
    server = load("server.json")
    assert server["$schema"] == schema["$id"]
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(server), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_the_validator_would_catch_a_broken_listing() -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = {**load("server.json"), "name": "mcp push without a namespace"}
    assert list(jsonschema.Draft7Validator(schema).iter_errors(broken))


def test_server_json_matches_the_package_and_the_readme() -> None:
    server = load("server.json")
    readme = (ROOT / "README.md").read_text()
    marker = re.search(r"mcp-name: (\S+)", readme)
    assert marker and marker.group(1) == server["name"]
    assert re.fullmatch(r"io\.github\.[A-Za-z0-9-]+/mcp-push", server["name"])
    assert server["version"] == __version__ == PYPROJECT["version"]
    (package,) = server["packages"]
    assert package["registryType"] == "pypi" and package["identifier"] == PYPROJECT["name"]
    assert package["version"] == __version__
    assert package["runtimeHint"] == "uvx" and package["transport"] == {"type": "stdio"}


def test_server_json_variables_are_the_channels_own_and_secrets_are_marked() -> None:
    (package,) = load("server.json")["packages"]
    variables = {v["name"]: v for v in package["environmentVariables"]}
    for name, variable in variables.items():
        if name.startswith("MCP_PUSH_"):
            continue
        assert name in SETTINGS, f"{name} is no channel's setting"
        assert variable["isSecret"] is SETTINGS[name].secret, name
    for channel in MAIN_CHANNELS:
        assert required_of(channel) <= set(variables), channel
    assert variables["TG_BOT_TOKEN"]["isSecret"] and not variables["TG_USER_ID"]["isSecret"]


# --- the Claude Desktop bundle (MCPB) ---------------------------------------------------------------


def test_manifest_runs_the_package_with_uv_and_marks_secrets_sensitive() -> None:
    manifest = load("manifest.json")
    assert manifest["version"] == __version__ and manifest["name"] == "mcp-push"
    server = manifest["server"]
    assert server["type"] == "uv" and (ROOT / server["entry_point"]).is_file()
    config = server["mcp_config"]
    assert config["command"] == "uv" and config["args"][-2:] == ["mcp-push", "serve"]
    options = manifest["user_config"]
    for variable, value in config["env"].items():
        key = re.fullmatch(r"\$\{user_config\.([a-z0-9_]+)\}", value)
        assert key and key.group(1) in options, variable
        if variable in SETTINGS:
            assert options[key.group(1)].get("sensitive", False) is SETTINGS[variable].secret, variable
    for channel in MAIN_CHANNELS:
        assert required_of(channel) <= set(config["env"]), channel


def test_manifest_lists_the_tools_the_server_has(tmp_path: Path) -> None:
    """Claude Desktop shows the bundle's tool list before it runs the server: it must be the real one."""
    import asyncio

    from mcp_push.notifier import Notifier
    from mcp_push.server.app import build_server
    from mcp_push.tasks.runtime import Runtime
    from tests.conftest import settings_for

    runtime = Runtime.open(settings_for(tmp_path / "home"))
    try:
        served = {tool.name for tool in asyncio.run(build_server(Notifier(runtime)).list_tools())}
    finally:
        runtime.close()
    assert {tool["name"] for tool in load("manifest.json")["tools"]} == served


def npx() -> str:
    found = shutil.which("npx")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("npx (npm) is missing: CI must validate and pack the bundle with the official mcpb CLI")
        pytest.skip("npm is not installed: the MCPB checks need `npx @anthropic-ai/mcpb`")
    return found


MCPB = "@anthropic-ai/mcpb@2"


@pytest.mark.slow
def test_mcpb_validates_and_packs_the_bundle(tmp_path: Path) -> None:
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    validated = run([npx(), "--yes", MCPB, "validate", str(ROOT / "manifest.json")], env=env, timeout=600)
    assert "validation passes" in validated.stdout + validated.stderr
    bundle = tmp_path / "mcp-push.mcpb"
    run([npx(), "--yes", MCPB, "pack", str(ROOT), str(bundle)], env=env, timeout=600)
    with zipfile.ZipFile(bundle) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "unpacked")
    assert {"manifest.json", "pyproject.toml", "README.md", "mcp_push/cli.py", "mcp_push/__main__.py"} <= names
    assert not any(n.startswith((".venv", "tests/", ".git")) or "__pycache__" in n for n in names)  # .mcpbignore
    # What Claude Desktop runs: the manifest's command with ${__dirname} pointing at the unpacked bundle.
    config = json.loads((tmp_path / "unpacked" / "manifest.json").read_text())["server"]["mcp_config"]
    args = [a.replace("${__dirname}", str(tmp_path / "unpacked")) for a in config["args"]]
    args[-1] = "--version"  # `serve` would wait for a client; the same entry point answers --version
    done = run([tool("uv"), *args], env=clean_env(tmp_path, UV_PYTHON=sys.executable), timeout=600)
    assert done.stdout.strip() == f"mcp-push {__version__}"


# --- the Claude Code plugin -------------------------------------------------------------------


def test_claude_code_plugin_layout() -> None:
    plugin = load(".claude-plugin/plugin.json")
    assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", plugin["name"])  # kebab-case, the documented rule
    assert plugin["version"] == __version__
    assert set(plugin) <= {"name", "version", "description", "author", "homepage", "repository", "license", "keywords"}
    assert isinstance(plugin["author"], dict) and plugin["author"]["name"]
    assert isinstance(plugin["keywords"], list) and all(isinstance(k, str) for k in plugin["keywords"])
    # default locations, so plugin.json names no component paths
    servers = load(".mcp.json")["mcpServers"]
    assert set(servers) == {"mcp-push"} and servers["mcp-push"]["command"]
    assert "serve" in " ".join(servers["mcp-push"]["args"])
    hooks = load("hooks/hooks.json")
    assert isinstance(hooks["description"], str)
    from mcp_push.setup.claude_code import hook_events

    for event, groups in hooks["hooks"].items():
        assert event in hook_events(), f"`mcp-push hook` does not read {event}"
        for group in groups:
            assert set(group) <= {"matcher", "hooks"}
            for entry in group["hooks"]:
                assert entry["type"] == "command" and "mcp-push hook" in entry["command"]
                assert isinstance(entry["timeout"], int)


def test_plugin_hooks_match_what_setup_installs(tmp_path: Path) -> None:
    """The plugin and `mcp-push setup claude-code` register the same events with the same matchers."""
    from mcp_push.setup import claude_code
    from mcp_push.setup.target import Target

    specs = claude_code.specs(Target("user", tmp_path, tmp_path, Path("/x/mcp-push"), {}))
    plugin = load("hooks/hooks.json")["hooks"]
    wanted = {s.event: (s.matcher, s.entry["timeout"]) for s in specs}
    got = {e: (g[0].get("matcher"), g[0]["hooks"][0]["timeout"]) for e, g in plugin.items()}
    assert got == wanted


def test_plugin_hook_command_delivers_through_the_installed_mcp_push(tmp_path: Path, fake) -> None:
    """The plugin's shell line finds mcp-push on PATH and hands it the event on stdin: a Stop is delivered."""
    from tests.fakes.ntfy import CASE as NTFY
    from tests.server.conftest import server_env

    line = load("hooks/hooks.json")["hooks"]["Stop"][0]["hooks"][0]["command"]
    env = server_env(tmp_path / "mcp-push-home", NTFY.env(fake.url))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    payload = (ROOT / "tests" / "hook_payloads" / "claude_stop.json").read_text()
    done = subprocess.run(["sh", "-c", line], input=payload, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "", done.stderr
    assert "Finished" in fake.wait_message(timeout=30)["title"]
    assert fake.problems == []
