"""One writer per data directory: a second writing process is refused, readers never are."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import storage.tinydb._files
from bot.errors import StoreError
from storage.tinydb.store import TinyStore
from tests.storage._helpers import casualty, facts_batch, snapshot

ROOT = Path(__file__).resolve().parents[2]

HOLDER = r"""
import sys
from pathlib import Path
from storage.tinydb.store import TinyStore
store = TinyStore.open_sync(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()  # hold the store (and its lock) until the parent closes our stdin or kills us
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the writer lock of ``tmp_path / "data"`` (with one fact in the store)."""
    data = tmp_path / "data"
    store = TinyStore.open_sync(data)
    store.commit_sync(facts_batch("https://l/1", [casualty(3)]))
    store.close_sync()
    child = subprocess.Popen([sys.executable, "-c", HOLDER, str(data)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
    yield child
    if child.poll() is None:
        child.kill()
    child.communicate(timeout=10)


def test_second_writer_process_is_refused_naming_the_holder(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    before = snapshot(tmp_path / "data")
    with pytest.raises(StoreError, match=rf"in use by another Sitrep writer \(pid {holder.pid}\)"):
        TinyStore.open_sync(tmp_path / "data")
    assert snapshot(tmp_path / "data") == before


def test_reader_is_not_blocked_and_cannot_write(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    reader = TinyStore.open_sync(tmp_path / "data", read_only=True)
    assert [f.fact.count for f in reader.facts()] == [3]  # type: ignore[union-attr]
    with pytest.raises(StoreError, match="read-only"):
        reader.commit_sync(facts_batch("https://l/2", [casualty(4)]))


def test_lock_dies_with_its_holder(tmp_path: Path, holder: subprocess.Popen[str]) -> None:
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    store = TinyStore.open_sync(tmp_path / "data")  # no stale lock to clean up by hand
    assert store.commit_sync(facts_batch("https://l/2", [casualty(4)])).new_facts == 1


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    return path


def test_cli_poll_is_refused_in_one_line_and_ask_still_answers(tmp_path: Path,
                                                                holder: subprocess.Popen[str]) -> None:
    config = _config(tmp_path)
    poll = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "poll", "--once"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert poll.returncode == 2
    lines = poll.stderr.strip().splitlines()
    assert len(lines) == 1 and f"(pid {holder.pid})" in lines[0] and lines[0].startswith("error: "), poll.stderr
    ask = subprocess.run([sys.executable, "-m", "bot", "--config", str(config), "ask", "sources"],
                         capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert ask.returncode == 0, ask.stderr


def test_writers_in_one_process_share_the_lock_and_close_releases_it(tmp_path: Path) -> None:
    first = TinyStore.open_sync(tmp_path)
    second = TinyStore.open_sync(tmp_path)  # same process: shared, as tests and scripts do
    first.close_sync()
    probe = [sys.executable, "-c",
             "import sys; from storage.tinydb.store import TinyStore; TinyStore.open_sync(sys.argv[1])", str(tmp_path)]
    assert subprocess.run(probe, capture_output=True, env=_env(), timeout=60).returncode == 1  # still held
    second.close_sync()
    result = subprocess.run(probe, capture_output=True, text=True, env=_env(), timeout=60)
    assert result.returncode == 0, result.stderr


def test_read_only_open_creates_nothing(tmp_path: Path) -> None:
    store = TinyStore.open_sync(tmp_path / "missing", read_only=True)
    assert store.facts() == [] and not (tmp_path / "missing").exists()


def test_read_only_open_of_a_v0_store_migrates_in_memory_only(tmp_path: Path) -> None:
    v0 = {"articles": {"1": {"url": "https://old/1", "outlet": "AP", "title": "Old", "source_id": "ap",
                             "published": "2024-05-01T10:00:00+00:00", "text_hash": "h1", "topics": ["gaza"]}},
          "facts": {"1": {"url": "https://old/1", "fact": {"kind": "casualty", "category": "killed", "count": 4,
                                                           "qualifier": "exact", "quote": "Four were killed."}}}}
    (tmp_path / "sitrep.json").write_text(json.dumps(v0), encoding="utf-8")
    before = snapshot(tmp_path)
    store = TinyStore.open_sync(tmp_path, read_only=True)
    assert [f.fact.count for f in store.facts()] == [4]  # type: ignore[union-attr]
    assert snapshot(tmp_path) == before and sorted(p.name for p in tmp_path.iterdir()) == ["sitrep.json"]


def test_reader_racing_a_commit_reads_the_new_generation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writer = TinyStore.open_sync(tmp_path)
    writer.commit_sync(facts_batch("https://r/1", [casualty(1)]))
    real_read = storage.tinydb._files.read_tables
    raced = []

    def read_tables(path: Path, **options: Any) -> dict[str, list[dict[str, object]]]:
        if not raced:  # the writer commits (and collects the generation we are about to read) right now
            raced.append(path)
            writer.commit_sync(facts_batch("https://r/2", [casualty(2)]))
        return real_read(path, **options)

    monkeypatch.setattr(storage.tinydb._files, "read_tables", read_tables)
    reader = TinyStore.open_sync(tmp_path, read_only=True)
    assert raced and sorted(f.fact.count for f in reader.facts()) == [1, 2]  # type: ignore[union-attr]
