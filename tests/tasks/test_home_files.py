"""Files the task layer opens in MCP_PUSH_HOME are never followed through a symbolic link."""

from __future__ import annotations

import pytest

from mcp_push.errors import ConfigError
from mcp_push.tasks.drain import drain_lock_path, spawn_drainer, try_lock


def test_a_planted_drain_lock_link_is_refused(make_settings, tmp_path) -> None:
    settings = make_settings()
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    drain_lock_path(settings).symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        try_lock(drain_lock_path(settings))
    assert victim.read_text() == "keep me"


def test_a_planted_drain_log_link_is_refused(make_settings, tmp_path) -> None:
    settings = make_settings()
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    victim.chmod(0o644)
    (settings.home / "drain.log").symlink_to(victim)
    with pytest.raises(ConfigError, match="symbolic link"):
        spawn_drainer(settings)
    assert victim.read_text() == "keep me" and victim.stat().st_mode & 0o777 == 0o644
