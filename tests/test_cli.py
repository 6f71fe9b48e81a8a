"""The command-line contract of ../shared/design.md: the commands exist and fail cleanly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)


def test_help_lists_the_contract_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("run", "demo", "poll", "extract", "ask"):
        assert f"    {command} " in result.stdout


def test_missing_config_is_one_clear_line() -> None:
    result = run("--config", "does-not-exist.toml", "ask", "sources")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: config file does-not-exist.toml not found"
    assert "Traceback" not in result.stderr
