"""Settings: config.sh parsing, precedence, knobs and a clear error for each bad value."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from mcp_push.config import load_settings, parse_config_file, prepare_home
from mcp_push.configfile import read_config_text
from mcp_push.errors import ConfigError


def test_parse_config_file_shell_forms() -> None:
    text = """
# comment
export TG_BOT_TOKEN="123:abc def"
export TG_USER_ID=42  # trailing comment
DD_BOT_TOKEN='x=y'
"""
    assert parse_config_file(text) == {"TG_BOT_TOKEN": "123:abc def", "TG_USER_ID": "42", "DD_BOT_TOKEN": "x=y"}


@pytest.mark.parametrize(("line", "opened"), [('export X="unterminated', 2), ("ok=1\nexport X='open\nmore", 3)])
def test_an_unclosed_quote_is_an_error_naming_the_line_it_opens(line: str, opened: int) -> None:
    with pytest.raises(ConfigError, match=rf"config.sh:{opened}: a (single|double) quote opened here is never closed"):
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
        ("MCP_PUSH_MAX_AGE", "nan", "not a finite number"),
        ("MCP_PUSH_RETRY_MAX_DELAY", "inf", "not a finite number"),
        ("MCP_PUSH_DEDUPE_SECONDS", "-inf", "not a finite number"),
        ("MCP_PUSH_WORKERS", "Infinity", "not a finite number"),
        ("MCP_PUSH_HTTP_TIMEOUT", "NaN", "not a finite number"),
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


# --- an ordinary shell script as config file: assignments read, the rest skipped --------------------

SCRIPT = r"""#!/bin/sh
# a QingLong-style config that is also a script
AutoDelCron="true"
export TG_BOT_TOKEN="123:abc"
echo "loading notify settings"
if [ -n "$WORK" ]; then
  export NTFY_TOPIC=inside-if
else
  export NTFY_TOPIC=inside-else
fi
helper() {
  export BARK_PUSH=inside-function
}
source ~/.secrets.sh
. ./more.sh
[ -f x ] && export GOTIFY_URL=conditional
cat > /tmp/never <<'END'
export HEREDOC=1
END
for i in 1 2; do export LOOP=$i; done
export TG_USER_ID=42 QMSG_KEY=k
"""


def test_a_shell_script_gives_its_top_level_assignments_and_one_warning(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        values = parse_config_file(SCRIPT, "/x/config.sh")
    assert values == {"AutoDelCron": "true", "TG_BOT_TOKEN": "123:abc", "TG_USER_ID": "42", "QMSG_KEY": "k"}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "/x/config.sh" in message and "line 5: `echo`" in message and "never runs the file" in message


def test_a_skipped_line_never_shows_its_value(caplog) -> None:
    with caplog.at_level(logging.WARNING):
        values = parse_config_file("export TG_BOT_TOKEN=s3cr3t-value && echo done\nX=$(pass show s3cr3t)\n")
    assert values == {}
    assert "s3cr3t" not in caplog.text and "line 1: `export`" in caplog.text and "line 2: `X=…`" in caplog.text


def test_the_originals_example_shape_reads_without_warnings(caplog) -> None:
    """The original's config.sh.example: QingLong's own variables, Chinese comments, empty exports."""
    text = (
        "## 在运行 ql repo 命令时，是否自动删除失效的脚本与定时任务\n"
        'AutoDelCron="true"\n'
        "CpuWarn=80\n"
        'RepoFileExtensions="js mjs py pyc"\n'
        "## 通知环境变量\n"
        'export PUSH_KEY=""\n'
        'export BARK_ICON="https://qn.whyour.cn/logo.png"\n'
        'export TG_BOT_TOKEN=""\n'
    )
    with caplog.at_level(logging.WARNING):
        values = parse_config_file(text)
    assert values["CpuWarn"] == "80" and values["BARK_ICON"] == "https://qn.whyour.cn/logo.png"
    assert values["TG_BOT_TOKEN"] == "" and caplog.records == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r'A="a\"b\$c\\d\e\`f"', {"A": 'a"b$c\\d\\e`f'}),  # inside "…" only \$ \` \" \\ escape (POSIX)
        (r"A=x\ y\'z", {"A": "x y'z"}),  # backslash outside quotes
        ("A=one\\\ntwo", {"A": "onetwo"}),  # line continuation
        ('A="one\\\ntwo"', {"A": "onetwo"}),
        (r"A='it'\''s'", {"A": "it's"}),
        ("A=a#b # comment", {"A": "a#b"}),
        ("A='$HOME' B=\"$HOME\" C=$HOME", {"A": "$HOME", "B": "$HOME", "C": "$HOME"}),  # never expanded
        ("export A=1; export B=2", {"A": "1", "B": "2"}),
        ("A=\r\nB=2\r\n", {"A": "", "B": "2"}),  # a file saved on Windows
        ("export A", {}),
    ],
)
def test_posix_quoting(text: str, expected: dict[str, str]) -> None:
    parsed = read_config_text(text)
    assert parsed.values == expected and parsed.skipped == []


@pytest.mark.timeout(20)
def test_a_2mb_value_parses() -> None:
    """shlex needed 92 s for this; ours is one pass (no speed is asserted, only the pytest timeout)."""
    double = "x\\\\y$z \n" * 250_000  # escapes and newlines inside double quotes
    single = "a" * 2_000_000
    bare = "b\\ " * 700_000  # escaped blanks outside quotes
    text = f"export WEBHOOK_BODY=\"{double}\"\nexport A='{single}'\nexport B={bare}\nexport C=ok\n"
    values = read_config_text(text).values
    assert values["WEBHOOK_BODY"] == "x\\y$z \n" * 250_000
    assert values["A"] == single and values["B"] == "b " * 700_000 and values["C"] == "ok"


# --- the config file: where it is looked for, what it may contain -------------------------------------


def test_a_config_sh_in_the_current_directory_is_never_read(tmp_path, monkeypatch) -> None:
    repo = tmp_path / "cloned-repo"
    repo.mkdir()
    (repo / "config.sh").write_text("export MCP_PUSH_ORIGIN_TELEGRAM=http://attacker.example\n")
    monkeypatch.chdir(repo)
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path / "home")})
    assert settings.config_file is None and settings.origin_for("telegram") is None


def test_home_named_in_the_explicit_config_is_honoured_and_the_environment_wins(tmp_path) -> None:
    config = tmp_path / "c.sh"
    config.write_text(f"export MCP_PUSH_HOME={tmp_path / 'from-file'}\n")
    assert load_settings({"MCP_PUSH_CONFIG": str(config)}).home == tmp_path / "from-file"
    both = load_settings({"MCP_PUSH_CONFIG": str(config), "MCP_PUSH_HOME": str(tmp_path / "env")})
    assert both.home == tmp_path / "env"


def test_login_env_lies_under_the_file_and_the_environment(tmp_path) -> None:
    config = tmp_path / "c.sh"
    config.write_text("export NTFY_TOPIC=file\n")
    login = {"NTFY_TOPIC": "login", "NTFY_URL": "http://login", "TG_USER_ID": "login", "MCP_PUSH_CONFIG": str(config)}
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path), "TG_USER_ID": "env"}, login_env=login)
    assert settings.env["NTFY_TOPIC"] == "file" and settings.env["NTFY_URL"] == "http://login"
    assert settings.env["TG_USER_ID"] == "env" and settings.config_file == config


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"\x7fELF\x02\x01\x01\x00\x00\x00", "is a binary file"),
        ("export BARK_GROUP=Caf\u00e9\n".encode("latin-1"), r"is not UTF-8 text \(byte 0xe9 on line 1\)"),
    ],
)
def test_a_binary_or_latin1_config_is_one_clear_error(tmp_path, content: bytes, match: str) -> None:
    config = tmp_path / "c.sh"
    config.write_bytes(content)
    with pytest.raises(ConfigError, match=match) as info:
        load_settings({"MCP_PUSH_HOME": str(tmp_path), "MCP_PUSH_CONFIG": str(config)})
    assert str(config) in str(info.value)


def test_a_utf8_bom_is_fine(tmp_path) -> None:
    config = tmp_path / "c.sh"
    config.write_bytes("\ufeffexport BARK_GROUP=Café\n".encode())
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path), "MCP_PUSH_CONFIG": str(config)})
    assert settings.env["BARK_GROUP"] == "Café"


# --- MCP_PUSH_HOME: no links followed, a warning when others can get in ------------------------------


def test_a_symlinked_ledger_is_refused_and_its_target_left_alone(tmp_path) -> None:
    outside = tmp_path / "someone-elses-file"
    outside.write_text("precious")
    outside.chmod(0o644)
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path / "home")})
    settings.home.mkdir(mode=0o700)
    settings.ledger_path.symlink_to(outside)
    with pytest.raises(ConfigError, match=r"ledger.sqlite3 is a symbolic link; mcp-push never follows links"):
        prepare_home(settings)
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644 and outside.read_text() == "precious"


@pytest.mark.parametrize("name", ["queue.sqlite3", "ledger.sqlite3-wal", "drain.log", "drain.lock", "wake"])
def test_no_file_of_the_home_may_be_a_link(tmp_path, name: str) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    target.chmod(0o644)
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path / "home")})
    settings.home.mkdir(mode=0o700)
    (settings.home / name).symlink_to(target)
    with pytest.raises(ConfigError, match="symbolic link"):
        prepare_home(settings)
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_a_dangling_link_is_refused_too(tmp_path) -> None:
    settings = load_settings({"MCP_PUSH_HOME": str(tmp_path / "home")})
    settings.home.mkdir(mode=0o700)
    settings.ledger_path.symlink_to(tmp_path / "would-be-created-elsewhere")
    with pytest.raises(ConfigError, match="symbolic link"):
        prepare_home(settings)
    assert not (tmp_path / "would-be-created-elsewhere").exists()


def test_a_home_open_to_others_is_one_warning_not_a_refusal(tmp_path, caplog) -> None:
    home = tmp_path / "shared"
    home.mkdir()
    home.chmod(0o755)
    settings = load_settings({"MCP_PUSH_HOME": str(home)})
    with caplog.at_level(logging.WARNING):
        prepare_home(settings)
        prepare_home(settings)
    warnings = [r.getMessage() for r in caplog.records if "mode 755" in r.getMessage()]
    assert len(warnings) == 1 and "chmod 700" in warnings[0]
    assert stat.S_IMODE(settings.ledger_path.stat().st_mode) == 0o600


def test_a_private_home_gives_no_warning(tmp_path, caplog) -> None:
    with caplog.at_level(logging.WARNING):
        prepare_home(load_settings({"MCP_PUSH_HOME": str(tmp_path / "private")}))
    assert caplog.records == []
