"""The embedded default: `python -m bot demo` needs no token and no internet, and leaves a store `ask` can read."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)})


def test_demo_polls_the_sample_sources_and_answers(tmp_path: Path) -> None:
    demo = run("--data-dir", str(tmp_path), "demo")
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    assert "First poll (a new source's backlog is stored, not announced)" in out
    assert "40 Pakistani soldiers killed — claimed by Taliban government · Afghanistan (Taliban)" in out
    assert "raised from 19 to 23" in out
    assert "more than 20 posts taken by Pakistan" in out
    assert "admitted by Pakistan" in out
    assert "Digest:" in out and "Nothing new since the last digest" not in out
    assert f"python -m bot --data-dir {tmp_path} ask casualties" in out

    ask = run("--data-dir", str(tmp_path), "ask", "casualties", "--topic", "pak-afg")
    assert ask.returncode == 0, ask.stderr
    assert "more than 150 Taliban fighters killed — claimed by Pakistan" in ask.stdout

    listed = run("--data-dir", str(tmp_path), "ask", "incident", "--topic", "pak-afg")
    assert listed.returncode == 0, listed.stderr
    incident_id = next(line for line in listed.stdout.splitlines() if "(2 outlets)" in line).rsplit("id ", 1)[1]
    incident = run("--data-dir", str(tmp_path), "ask", "incident", incident_id.strip())
    assert "Contested: claimants' figures for Pakistan killed differ" in incident.stdout
    unknown = run("--data-dir", str(tmp_path), "ask", "incident", "nosuchstory")
    assert unknown.returncode == 2 and "no incident 'nosuchstory'" in unknown.stderr

    bad = run("--data-dir", str(tmp_path), "ask", "timeline", "--from", "soon")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: from: 'soon' is not a date; use YYYY, YYYY-MM or YYYY-MM-DD"
