"""Every benchmark runs at its small size (``--quick``) and ends with its JSON line, so one that stops working
fails here, not months later in ``make bench``. Their figures are never judged: the machines are noisy, and a
quick run's figures say nothing about the full size. All of them together take well under a minute."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHES = ["storage", "extract", "poll", "briefing", "alerts", "commands"]
REALNEWS_CACHE = ROOT / "tests" / "data" / "realnews" / ".cache"


def run_quick(name: str, *options: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``python bench/<name>.py --quick``: exit status 0 and a JSON object as its last line of output."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick", *options], cwd=ROOT,
                          capture_output=True, text=True, timeout=90, env={**os.environ, **(env or {})})
    command = f"bench/{name}.py --quick {' '.join(options)}".strip()
    assert done.returncode == 0, f"{command} failed (exit status {done.returncode}):\n{done.stderr[-4000:]}"
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        pytest.fail(f"{command} printed no JSON line last; its output ended with:\n{done.stdout[-2000:]}")
    assert isinstance(result, dict), f"{command}: its last line is JSON but not an object: {lines[-1]}"
    return result


@pytest.mark.parametrize("name", BENCHES)
def test_benchmark_runs_and_reports(name: str) -> None:
    result = run_quick(name)
    if name == "commands":  # a key per kind of command, so a slow one shows by name
        assert {"ack_p99_ms_search", "ack_p99_ms_fact_old", "answer_max_ms_timeline_old"} <= result.keys()


@pytest.mark.parametrize("name", ["commands", "storage"])
def test_benchmark_runs_on_postgresql(name: str, pg_dsn: str) -> None:
    """The same benchmark, the same keys, on the PostgreSQL driver (each in a schema of its own, dropped after)."""
    result = run_quick(name, "--driver", "postgres", env={"SITREP_DATABASE_URL": pg_dsn})
    if name == "commands":
        assert result["driver"] == "postgres" and "ack_p99_ms_fact_old" in result
    else:
        assert "postgres" in result


@pytest.mark.parametrize("name", ["answers", "territory"])
def test_real_news_audit_runs_or_says_how_to_get_its_texts(name: str) -> None:
    """The audits read third-party texts kept out of the repository. With them (a developer's machine), the
    audit runs; without them (a fresh clone, CI), it stops at once with one line saying how to rebuild them."""
    if REALNEWS_CACHE.is_dir() and any(REALNEWS_CACHE.glob("*.txt")):
        run_quick(name)
        return
    done = subprocess.run([sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "realnews.py rebuild" in done.stderr, done.stderr[-2000:]
