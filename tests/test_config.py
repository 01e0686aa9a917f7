"""Settings: config.sh parsing, precedence, knobs and a clear error for each bad value."""

from __future__ import annotations

import os
import stat

import pytest

from mcp_push.config import load_settings, parse_config_file, prepare_home
from mcp_push.errors import ConfigError


def test_parse_config_file_shell_forms() -> None:
    text = """
# comment
export TG_BOT_TOKEN="123:abc def"
export TG_USER_ID=42  # trailing comment
DD_BOT_TOKEN='x=y'
"""
    assert parse_config_file(text) == {"TG_BOT_TOKEN": "123:abc def", "TG_USER_ID": "42", "DD_BOT_TOKEN": "x=y"}


@pytest.mark.parametrize("line", ["not a line", "export =x", 'export X="unterminated'])
def test_parse_config_file_errors_name_the_line(line: str) -> None:
    with pytest.raises(ConfigError, match=r"config.sh:\d+: "):
        parse_config_file(f"# ok\n{line}\n")


def test_parse_config_file_several_per_line_and_multiline_values() -> None:
    text = "export QMSG_KEY=k QMSG_TYPE=send\nexport WEBHOOK_BODY='title: $title\ncontent: $content'\n"
    assert parse_config_file(text) == {
        "QMSG_KEY": "k",
        "QMSG_TYPE": "send",
        "WEBHOOK_BODY": "title: $title\ncontent: $content",
    }


def test_the_shipped_example_parses(tmp_path) -> None:
    from pathlib import Path

    example = Path(__file__).resolve().parents[1] / "config.sh.example"
    assert parse_config_file(example.read_text()) == {}  # everything in it is commented out


def test_precedence_explicit_file_then_environment(tmp_path) -> None:
    config = tmp_path / "c.sh"
    config.write_text("export NTFY_TOPIC=from-file\nexport NTFY_URL=http://file\n")
    settings = load_settings(
        {"MCP_PUSH_HOME": str(tmp_path / "h"), "MCP_PUSH_CONFIG": str(config), "NTFY_URL": "http://env"}
    )
    assert settings.env["NTFY_TOPIC"] == "from-file" and settings.env["NTFY_URL"] == "http://env"
    assert settings.config_file == config


def test_home_config_sh_is_found(tmp_path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.sh").write_text("export CONSOLE=true\n")
    assert load_settings({"MCP_PUSH_HOME": str(home)}).env["CONSOLE"] == "true"


def test_missing_explicit_config_is_an_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="MCP_PUSH_CONFIG"):
        load_settings({"MCP_PUSH_HOME": str(tmp_path), "MCP_PUSH_CONFIG": str(tmp_path / "nope.sh")})


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("MCP_PUSH_EVENTS", "end,finish", "unknown events"),
        ("MCP_PUSH_MAX_AGE", "soon", "not a number"),
        ("MCP_PUSH_WORKERS", "0", "at least 1"),
    ],
)
def test_bad_knobs_are_clear_errors(tmp_path, key, value, match) -> None:
    with pytest.raises(ConfigError, match=match):
        load_settings({"MCP_PUSH_HOME": str(tmp_path), key: value})


def test_events_default_and_override(tmp_path) -> None:
    assert load_settings({"MCP_PUSH_HOME": str(tmp_path)}).pushed_events == {"end", "error"}
    assert load_settings({"MCP_PUSH_HOME": str(tmp_path), "MCP_PUSH_EVENTS": "Start, END"}).pushed_events == {
        "start",
        "end",
    }


def test_origin_override(tmp_path) -> None:
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path), "MCP_PUSH_ORIGIN_DINGTALK": "http://127.0.0.1:9/dd"})
    assert settings.origin_for("dingtalk") == "http://127.0.0.1:9/dd"
    assert settings.origin_for("telegram") is None


def test_home_files_are_private(tmp_path) -> None:
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path / "new")})
    prepare_home(settings)
    for path in (settings.ledger_path, settings.queue_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(settings.home).st_mode) == 0o700


def test_unusable_home_is_one_clear_error(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="MCP_PUSH_HOME"):
        prepare_home(load_settings({"MCP_PUSH_HOME": str(blocker / "sub")}))
