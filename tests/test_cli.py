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


def test_ask_casualties_writes_the_chart_as_a_png(tmp_path: Path) -> None:
    import struct
    from datetime import UTC, datetime, timedelta

    from bot.briefing import Briefing, render_chart
    from bot.config import load_config
    from bot.model import Article, Casualty
    from storage import ArticleFacts, Batch, TinyStore

    published = datetime.now(UTC) - timedelta(days=2)
    claims = (Casualty(category="killed", count=40, qualifier="exact", victim="Pakistan", victim_text="Pakistani "
                       "soldiers", claimant="Afghanistan (Taliban)", quote="The Taliban said 40 Pakistani soldiers "
                       "were killed."),
              Casualty(category="killed", count=None, qualifier="vague", victim="Pakistan", victim_text="soldiers",
                       claimant="Pakistan", quote="Dozens of soldiers were killed, the army said."))
    article = Article(url="https://wire.test/a", outlet="Wire", title="Clashes", published=published,
                      source_id="wire", text_hash="h", topics=("pak-afg",))
    store = TinyStore.open_sync(tmp_path / "data")
    store.commit_sync(Batch(articles=(ArticleFacts(article, claims),)))
    chart = tmp_path / "chart.png"
    result = run("--data-dir", str(tmp_path / "data"), "ask", "casualties", "--topic", "pak-afg", "--chart",
                 str(chart))
    assert result.returncode == 0, result.stderr
    assert "40 Pakistani soldiers killed — claimed by Afghanistan (Taliban)" in result.stdout
    png = chart.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert f"chart: {chart} ({width}×{height} px)" in result.stderr
    assert width == 1000
    briefing = Briefing(TinyStore.open_sync(tmp_path / "data"), load_config(ROOT / "config.toml", data_dir=tmp_path))
    assert png == render_chart(briefing.casualties_chart("pak-afg"))  # the very PNG /casualties chart:true sends

    bad = run("--data-dir", str(tmp_path / "data"), "ask", "casualties", "--chart", str(tmp_path / "no" / "c.png"))
    assert bad.returncode == 2
    assert bad.stderr.strip() == f"error: --chart: no directory {tmp_path / 'no'}"


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path: Path) -> None:
    """`python -m bot extract FILE --format jsonl | head -2`: no BrokenPipeError traceback, exit status 0."""
    article = tmp_path / "long.txt"
    article.write_text("Pakistan said 12 soldiers were killed in Kurram on Saturday.\n" * 3000, encoding="utf-8")
    bot = subprocess.Popen([sys.executable, "-m", "bot", "extract", str(article), "--format", "jsonl",
                            "--published", "2025-10-12"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert bot.stdout is not None and bot.stderr is not None
    first = bot.stdout.readline()
    bot.stdout.close()  # what `head -1` does once it has its line
    stderr = bot.stderr.read().decode()
    assert bot.wait(timeout=60) == 0
    assert first.startswith(b"{")
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
