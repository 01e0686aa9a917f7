"""`mcp-push setup` against temporary HOMEs with real configs: merges, is idempotent, backs up, undoes itself."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import tomlkit

from tests.fakes.ntfy import CASE as NTFY
from tests.setup.conftest import (
    CLAUDE_JSON,
    CLAUDE_SETTINGS,
    CODEX_HOOKS,
    CODEX_TOML,
    GEMINI_SETTINGS,
    SECRET,
    backups,
    fake_mcp_push,
    snapshot,
    write_json,
)

AGENTS = ("claude-code", "codex", "gemini")


def hook_lines(data: dict, event: str) -> list[str]:
    return [h["command"] for g in data.get("hooks", {}).get(event, []) for h in g["hooks"]]


def test_claude_code_merges_into_what_is_there(setup_cli, user_home: Path, exe: Path) -> None:
    done = setup_cli("claude-code")
    assert done.returncode == 0, done.stderr
    state = json.loads((user_home / ".claude.json").read_text())
    assert state["mcpServers"]["mcp-push"] == {"type": "stdio", "command": str(exe), "args": ["serve"]}
    ours = state["mcpServers"].pop("mcp-push")
    assert ours and state == CLAUDE_JSON  # every other key and server untouched, order kept
    assert list(json.loads((user_home / ".claude.json").read_text())) == list(CLAUDE_JSON)
    settings = json.loads((user_home / ".claude" / "settings.json").read_text())
    line = f"{exe} hook"
    for event in ("Stop", "Notification", "PermissionRequest", "SessionEnd"):
        assert hook_lines(settings, event).count(line) == 1, event
    assert "afplay /System/Library/Sounds/Glass.aiff" in hook_lines(settings, "Stop")
    assert settings["hooks"]["PreToolUse"][0] == CLAUDE_SETTINGS["hooks"]["PreToolUse"][0]
    assert settings["permissions"] == CLAUDE_SETTINGS["permissions"] and settings["model"] == "opus"
    notification = next(g for g in settings["hooks"]["Notification"] if line in hook_lines({"hooks": {"x": [g]}}, "x"))
    assert notification["matcher"] == "idle_prompt|elicitation_dialog"
    # indentation of each file is kept (4 spaces in settings.json)
    assert '\n    "permissions"' in (user_home / ".claude" / "settings.json").read_text()


def test_codex_keeps_comments_order_and_other_tables(setup_cli, user_home: Path, exe: Path) -> None:
    done = setup_cli("codex")
    assert done.returncode == 0, done.stderr
    text = (user_home / ".codex" / "config.toml").read_text()
    for line in CODEX_TOML.splitlines():
        assert line in text.splitlines(), line  # every original line, comments included, is still there
    config = tomllib.loads(text)
    assert config["notify"] == [str(exe), "hook"]
    assert config["mcp_servers"]["mcp-push"] == {"command": str(exe), "args": ["serve"]}
    assert config["mcp_servers"]["github"]["env"] == {"GITHUB_TOKEN": SECRET}
    assert text.index("notify =") < text.index("[features]")  # a top-level key, before the first table
    hooks = json.loads((user_home / ".codex" / "hooks.json").read_text())
    assert hook_lines(hooks, "Stop") == ["python3 ~/bin/log_turn.py"]  # notify reports turn ends: no second
    assert hook_lines(hooks, "PermissionRequest") == [f"{exe} hook"]
    assert hooks["hooks"]["SessionStart"] == CODEX_HOOKS["hooks"]["SessionStart"]


def test_gemini_registers_the_server_beside_the_others(setup_cli, user_home: Path, exe: Path) -> None:
    done = setup_cli("gemini")
    assert done.returncode == 0, done.stderr
    settings = json.loads((user_home / ".gemini" / "settings.json").read_text())
    assert settings["mcpServers"]["mcp-push"]["command"] == str(exe)
    assert settings["mcpServers"]["mcp-push"]["args"] == ["serve"]
    assert settings["mcpServers"]["github"] == GEMINI_SETTINGS["mcpServers"]["github"]
    assert settings["hooks"]["BeforeTool"][0] == GEMINI_SETTINGS["hooks"]["BeforeTool"][0]


@pytest.mark.parametrize("agent", AGENTS)
def test_second_run_changes_nothing_and_uninstall_restores_every_byte(setup_cli, user_home: Path, agent) -> None:
    original = snapshot(user_home)
    assert setup_cli(agent).returncode == 0
    installed = snapshot(user_home)
    assert installed != original
    first_backups = backups(user_home)
    again = setup_cli(agent)
    assert again.returncode == 0, again.stderr
    assert snapshot(user_home) == installed
    assert backups(user_home) == first_backups  # nothing written, so nothing backed up
    assert "updated" not in again.stdout and "created" not in again.stdout
    removed = setup_cli(agent, "--uninstall")
    assert removed.returncode == 0, removed.stderr
    assert snapshot(user_home) == original
    assert setup_cli(agent, "--uninstall").stdout.count("unchanged") >= 1


@pytest.mark.parametrize("agent", AGENTS)
def test_every_changed_file_is_backed_up_first(setup_cli, user_home: Path, agent) -> None:
    original = snapshot(user_home)
    assert setup_cli(agent).returncode == 0
    found = backups(user_home)
    assert found
    for backup in found:
        name = str(backup.relative_to(user_home)).split(".mcp-push-backup")[0]
        assert backup.read_bytes() == original[name]


@pytest.mark.parametrize("agent", AGENTS)
def test_dry_run_prints_the_diff_and_writes_nothing(setup_cli, user_home: Path, exe: Path, agent) -> None:
    original = snapshot(user_home)
    done = setup_cli(agent, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert snapshot(user_home) == original and backups(user_home) == []
    assert done.stdout.startswith("--- ") and "\n+++ " in done.stdout
    assert f"+{exe}" in done.stdout or f'"{exe}"' in done.stdout
    assert SECRET not in done.stdout  # another server's token in the context lines is masked


def test_fresh_home_gets_new_files_and_uninstall_removes_them(setup_cli, user_home: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty-home"
    empty.mkdir()
    for agent in AGENTS:
        assert setup_cli(agent, env={"HOME": str(empty)}).returncode == 0
    assert (empty / ".codex" / "config.toml").exists() and (empty / ".gemini" / "settings.json").exists()
    for agent in AGENTS:
        assert setup_cli(agent, "--uninstall", env={"HOME": str(empty)}).returncode == 0
    left = snapshot(empty)
    # Claude Code's own state file stays (it is never ours alone); it no longer names mcp-push.
    assert set(left) == {".claude.json"}
    assert json.loads(left[".claude.json"]) == {}


def test_project_scope_writes_the_project_files(setup_cli, user_home: Path, exe: Path) -> None:
    home_before = snapshot(user_home)
    project: Path = setup_cli.project
    for agent in AGENTS:
        done = setup_cli(agent, "--scope", "project")
        assert done.returncode == 0, done.stderr
    assert snapshot(user_home) == home_before
    assert json.loads((project / ".mcp.json").read_text())["mcpServers"]["mcp-push"]["command"] == str(exe)
    assert hook_lines(json.loads((project / ".claude" / "settings.json").read_text()), "Stop") == [f"{exe} hook"]
    assert tomllib.loads((project / ".codex" / "config.toml").read_text())["notify"] == [str(exe), "hook"]
    assert json.loads((project / ".gemini" / "settings.json").read_text())["mcpServers"]["mcp-push"]
    for agent in AGENTS:
        assert setup_cli(agent, "--scope", "project", "--uninstall").returncode == 0
    assert snapshot(project) == {}


def test_a_new_path_replaces_an_old_one_in_place(setup_cli, user_home: Path, tmp_path: Path, exe: Path) -> None:
    old = fake_mcp_push(tmp_path / "old-venv" / "bin")
    assert setup_cli("claude-code", "--command", str(old)).returncode == 0
    assert setup_cli("codex", "--command", str(old)).returncode == 0
    assert setup_cli("claude-code").returncode == 0
    assert setup_cli("codex").returncode == 0
    settings = json.loads((user_home / ".claude" / "settings.json").read_text())
    assert hook_lines(settings, "Stop") == ["afplay /System/Library/Sounds/Glass.aiff", f"{exe} hook"]
    config = tomllib.loads((user_home / ".codex" / "config.toml").read_text())
    assert config["notify"] == [str(exe), "hook"] and config["mcp_servers"]["mcp-push"]["command"] == str(exe)
    assert str(old) not in (user_home / ".codex" / "config.toml").read_text()


def test_paths_with_spaces_are_quoted_for_the_shell(setup_cli, user_home: Path, tmp_path: Path) -> None:
    odd = fake_mcp_push(tmp_path / "My Tools" / "bin")
    assert setup_cli("claude-code", "--command", str(odd)).returncode == 0
    settings = json.loads((user_home / ".claude" / "settings.json").read_text())
    assert f"'{odd}' hook" in hook_lines(settings, "Stop")
    assert setup_cli("claude-code", "--uninstall").returncode == 0  # recognised as ours, quotes and all
    assert json.loads((user_home / ".claude" / "settings.json").read_text()) == CLAUDE_SETTINGS


def test_entries_that_are_not_ours_are_left_alone(setup_cli, user_home: Path, exe: Path) -> None:
    toml = CODEX_TOML.replace("[features]", 'notify = ["terminal-notifier", "-title", "Codex"]\n\n[features]')
    (user_home / ".codex" / "config.toml").write_text(toml)
    state = dict(
        CLAUDE_JSON, mcpServers={"mcp-push": {"command": "uvx", "args": ["--from", "git+https://x", "mcp-push"]}}
    )
    write_json(user_home / ".claude.json", state)
    codex = setup_cli("codex")
    claude = setup_cli("claude-code")
    assert codex.returncode == 0 and claude.returncode == 0
    assert "notify already runs" in codex.stdout and "left as it is" in claude.stdout
    config = tomllib.loads((user_home / ".codex" / "config.toml").read_text())
    assert config["notify"] == ["terminal-notifier", "-title", "Codex"]
    assert config["mcp_servers"]["mcp-push"]["command"] == str(exe)
    hooks = json.loads((user_home / ".codex" / "hooks.json").read_text())
    assert hook_lines(hooks, "Stop") == ["python3 ~/bin/log_turn.py", f"{exe} hook"]  # turn ends, without notify
    assert json.loads((user_home / ".claude.json").read_text())["mcpServers"]["mcp-push"]["command"] == "uvx"
    assert setup_cli("codex", "--uninstall").returncode == 0 and setup_cli("claude-code", "--uninstall").returncode == 0
    assert (user_home / ".codex" / "config.toml").read_text() == toml
    assert json.loads((user_home / ".claude.json").read_text()) == state


def test_codex_stop_hook_goes_once_notify_is_free_again(setup_cli, user_home: Path, exe: Path) -> None:
    config = user_home / ".codex" / "config.toml"
    config.write_text(CODEX_TOML.replace("[features]", 'notify = ["terminal-notifier"]\n\n[features]'))
    assert setup_cli("codex").returncode == 0
    assert f"{exe} hook" in hook_lines(json.loads((user_home / ".codex" / "hooks.json").read_text()), "Stop")
    config.write_text(CODEX_TOML)  # the person dropped their own notifier
    assert setup_cli("codex").returncode == 0
    assert tomllib.loads(config.read_text())["notify"] == [str(exe), "hook"]
    assert hook_lines(json.loads((user_home / ".codex" / "hooks.json").read_text()), "Stop") == [
        "python3 ~/bin/log_turn.py"
    ]


def test_uninstall_takes_ours_out_of_a_group_shared_with_other_hooks(setup_cli, user_home: Path, exe: Path) -> None:
    shared = {
        "hooks": {
            "Stop": [
                {"hooks": [{"type": "command", "command": "say done"}, {"type": "command", "command": f"{exe} hook"}]}
            ]
        }
    }
    write_json(user_home / ".claude" / "settings.json", shared)
    assert setup_cli("claude-code", "--uninstall").returncode == 0
    assert json.loads((user_home / ".claude" / "settings.json").read_text()) == {
        "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]}
    }


def test_a_json_file_with_comments_is_refused_untouched(setup_cli, user_home: Path) -> None:
    path = user_home / ".gemini" / "settings.json"
    path.write_text('{\n  // my theme\n  "theme": "GitHub"\n}\n')
    done = setup_cli("gemini")
    assert done.returncode == 2
    assert "not valid JSON" in done.stderr and "comments" in done.stderr and "Traceback" not in done.stderr
    assert path.read_text() == '{\n  // my theme\n  "theme": "GitHub"\n}\n' and backups(user_home) == []


def test_config_dir_variables_are_honoured(setup_cli, user_home: Path, tmp_path: Path, exe: Path) -> None:
    claude_dir, codex_dir = tmp_path / "claude-cfg", tmp_path / "codex-cfg"
    env = {"CLAUDE_CONFIG_DIR": str(claude_dir), "CODEX_HOME": str(codex_dir)}
    before = snapshot(user_home)
    assert setup_cli("claude-code", env=env).returncode == 0 and setup_cli("codex", env=env).returncode == 0
    assert snapshot(user_home) == before
    assert json.loads((claude_dir / ".claude.json").read_text())["mcpServers"]["mcp-push"]["command"] == str(exe)
    assert (claude_dir / "settings.json").exists() and (codex_dir / "config.toml").exists()


def test_symlinked_dotfiles_stay_links(setup_cli, user_home: Path, tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "gemini-settings.json"
    write_json(real, GEMINI_SETTINGS)
    link = user_home / ".gemini" / "settings.json"
    link.unlink()
    link.symlink_to(real)
    assert setup_cli("gemini").returncode == 0
    assert link.is_symlink() and "mcp-push" in json.loads(real.read_text())["mcpServers"]


def test_gemini_hooks_for_the_events_the_hook_reads(user_home: Path, tmp_path: Path, exe: Path) -> None:
    from mcp_push.setup import gemini
    from mcp_push.setup.files import apply
    from mcp_push.setup.target import Target

    target = Target("user", user_home, tmp_path, exe, {})
    events = ("AfterAgent", "BeforeTool", "Notification")
    for edit in gemini.plan(target, events=events).edits:
        apply(edit)
    settings = json.loads((user_home / ".gemini" / "settings.json").read_text())
    for event in events:
        assert hook_lines(settings, event).count(f"{exe} hook") == 1
    ours = settings["hooks"]["AfterAgent"][0]["hooks"][0]
    assert ours["timeout"] == 10_000 and ours["name"] == "mcp-push"  # Gemini counts milliseconds
    assert settings["hooks"]["BeforeTool"][0] == GEMINI_SETTINGS["hooks"]["BeforeTool"][0]
    assert not any(e.changed for e in gemini.plan(target, events=events).edits)
    for edit in gemini.plan(target, uninstall=True).edits:
        apply(edit)
    assert json.loads((user_home / ".gemini" / "settings.json").read_text()) == GEMINI_SETTINGS


def test_tomlkit_round_trip_is_what_codex_reads(setup_cli, user_home: Path) -> None:
    assert setup_cli("codex").returncode == 0
    text = (user_home / ".codex" / "config.toml").read_text()
    assert tomlkit.parse(text).unwrap() == tomllib.loads(text)


# --- --check -----------------------------------------------------------------------------------


def test_check_reports_installs_and_sends_a_test(setup_cli, user_home: Path, fake, exe: Path) -> None:
    assert setup_cli("claude-code").returncode == 0 and setup_cli("codex").returncode == 0
    done = setup_cli("--check", env=NTFY.env(fake.url))
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"ok     MCP server in {user_home / '.claude.json'}: {exe}" in done.stdout
    assert "ok     notify in" in done.stdout and "Gemini CLI (user): not set up" in done.stdout
    assert "ntfy: delivered" in done.stdout
    assert fake.wait_message()["title"] == "mcp-push test"
    assert fake.problems == []


def test_check_finds_stale_and_broken_entries(setup_cli, user_home: Path, tmp_path: Path, fake) -> None:
    old = fake_mcp_push(tmp_path / "old" / "bin")
    gone = fake_mcp_push(tmp_path / "gone" / "bin")
    assert setup_cli("codex", "--command", str(old)).returncode == 0
    assert setup_cli("gemini", "--command", str(gone)).returncode == 0
    gone.unlink()
    done = setup_cli("--check", env=NTFY.env(fake.url))
    assert done.returncode == 1
    assert f"stale  MCP server in {user_home / '.codex' / 'config.toml'}: runs {old}" in done.stdout
    assert f"broken MCP server in {user_home / '.gemini' / 'settings.json'}: {gone} is not an executable" in done.stdout
    assert "ntfy: delivered" in done.stdout and fake.problems == []


def test_check_without_a_channel_says_what_to_set(setup_cli) -> None:
    assert setup_cli("gemini").returncode == 0
    done = setup_cli("--check")
    assert done.returncode == 1
    assert "not sent: no channel is configured" in done.stdout


def test_check_names_what_is_missing(setup_cli, user_home: Path, fake) -> None:
    assert setup_cli("claude-code", "--scope", "project").returncode == 0
    settings_file = setup_cli.project / ".claude" / "settings.json"
    settings = json.loads(settings_file.read_text())
    del settings["hooks"]["SessionEnd"]
    write_json(settings_file, settings)
    done = setup_cli("claude-code", "--check", env=NTFY.env(fake.url))
    assert "Claude Code (project):" in done.stdout and "Codex" not in done.stdout
    assert "missing hook SessionEnd: `mcp-push setup claude-code --scope project` adds them" in done.stdout
    assert done.returncode == 0  # missing is reported; only stale, broken or undelivered fail the check
