"""`python -m bot export`: the design's contract, on a real store in a temporary data directory."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.briefing import COLUMNS, read_csv
from bot.model import Article, Casualty, Event, Territory
from storage import ArticleFacts, Batch, TinyStore

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC).replace(microsecond=0)


def run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), "export", *args],
                          capture_output=True, cwd=ROOT, timeout=60)


def article(url: str, topic: str, days_ago: int, outlet: str = "Dawn") -> Article:
    return Article(url=url, outlet=outlet, title="Clashes", published=NOW - timedelta(days=days_ago),
                   source_id="dawn", text_hash=url, topics=(topic,), story_id=f"story-{days_ago}")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    store = TinyStore.open_sync(tmp_path)
    store.commit_sync(Batch(articles=(
        ArticleFacts(article("https://dawn.test/1", "pak-afg", 40), (
            Casualty(category="killed", count=40, qualifier="exact", victim="Pakistan",
                     victim_text="Pakistani soldiers", claimant="Afghanistan (Taliban)",
                     claimant_text="the Taliban government", date="2025-10-11",
                     quote="The Taliban government said 40 Pakistani soldiers were killed."),
            Event(summary="Crossing closed", quote="Torkham was closed.", date="2025-10-11", date_precision="day"),
        )),
        ArticleFacts(article("https://dawn.test/2", "pak-afg", 2, outlet="Reuters"), (
            Territory(action="taken", object="posts", count=21, qualifier="more_than", by_side="Pakistan",
                      claimant="Pakistan", quote="=The army said it took more than 21 posts."),
        )),
        ArticleFacts(article("https://dawn.test/3", "sudan", 1), (
            Casualty(category="killed", count=12, qualifier="at_least", victim="civilians",
                     quote="At least 12 civilians were killed in El Fasher."),
        )),
    )))
    return tmp_path


def test_csv_on_standard_output_round_trips_to_the_stored_claims(data_dir: Path) -> None:
    result = run(data_dir, "--topic", "pak-afg")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"\xef\xbb\xbf")
    rows = read_csv(result.stdout)
    assert [(r["kind"], r["figure_low"], r["claimant"]) for r in rows] == [
        ("casualty", 40, "Afghanistan (Taliban)"), ("territory", 21, "Pakistan")]  # the event is no claim
    store = TinyStore.open_sync(data_dir)
    for row in rows:
        stored = store.fact(str(row["fact_id"]))
        assert stored is not None
        assert (row["quote"], row["url"], row["outlet"]) == (stored.fact.quote, stored.article.url,
                                                               stored.article.outlet)
    assert b",'=The army said" in result.stdout  # escaped in the file for spreadsheets; exact when read back
    assert rows[1]["quote"] == "=The army said it took more than 21 posts."


def test_json_to_a_file_with_since(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "claims.json"
    result = run(data_dir, "--format", "json", "--since", "7d", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == b""
    objects = json.loads(out.read_text(encoding="utf-8"))
    assert [(o["kind"], o["topic"], o["figure_low"]) for o in objects] == [("territory", "pak-afg", 21),
                                                                            ("casualty", "sudan", 12)]
    assert all(list(o) == list(COLUMNS) for o in objects)
    assert "2 claims (1 casualty, 1 territory) for all topics, published in the last 7d" in result.stderr.decode()


def test_bad_options_are_one_line_and_status_2(data_dir: Path) -> None:
    for args, message in ((["--since", "last week"], "error: since: 'last week' is not a duration"),
                          (["--topic", "atlantis"], "error: unknown topic 'atlantis'"),
                          (["--output", "/nonexistent/dir/x.csv"], "error: --output: cannot write")):
        result = run(data_dir, *args)
        assert result.returncode == 2
        assert result.stderr.decode().startswith(message) and result.stderr.count(b"\n") == 1


def test_help_lists_export() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, cwd=ROOT,
                            timeout=60)
    assert "    export " in result.stdout
