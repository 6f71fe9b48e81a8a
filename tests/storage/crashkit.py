"""The kill test, shared by tests/storage/test_crash.py (20 rounds) and ``bench/storage.py --crash R``.

A child process opens the store and commits batches in a loop, printing each batch number once its commit
has returned. The parent SIGKILLs it after a random short delay, then opens the store itself and checks:
every batch is all there or not there at all (its K facts in each of two month partitions, its article
rows, and the guild state it set), every acknowledged batch is there, and seq numbers run 1..last_seq
with no gap. One store directory is reused across rounds, so each child also opens (and recovers) a store
its predecessor was killed writing.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from storage.tinydb.store import TinyStore

K = 4  # facts per article; each batch has two articles in two month partitions

CHILD = r"""
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from bot.model import Article, Casualty, GuildSettings
from storage.api import ArticleFacts, Batch
from storage.tinydb.store import TinyStore

directory, round_no, k = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
store = TinyStore.open_sync(directory)
print("ready", flush=True)
t0 = datetime(2025, 1, 15, tzinfo=timezone.utc)
i = 0
while True:
    articles = []
    for j in range(2):
        url = f"https://crash/{round_no}/{i}/{j}"
        article = Article(url=url, outlet="Wire", title=f"Round {round_no} batch {i}",
                          published=t0 + timedelta(days=31 * ((i + j) % 5)), source_id="wire",
                          text_hash=url, topics=("gaza",))
        facts = tuple(Casualty(category="killed", count=n, qualifier="exact",
                               quote=f"{n} killed in batch {i} " + "x" * 150) for n in range(k))
        articles.append(ArticleFacts(article, facts))
    store.commit_sync(Batch(articles=tuple(articles),
                            guilds=(GuildSettings(guild_id=1, digest_watermark=round_no * 1_000_000 + i),)))
    print(i, flush=True)
    i += 1
"""


@dataclass
class Round:
    acknowledged: int  # batches the child reported committed before it died
    present: int  # batches found in the store afterwards
    problems: list[str]


def check(directory: Path, expected_batches: dict[int, int]) -> tuple[dict[int, int], list[str]]:
    """Open the store and check it; return batches present per round and the problems found."""
    problems: list[str] = []
    try:
        store = TinyStore.open_sync(directory, read_only=True)  # the next child takes the writer lock
    except Exception as exc:  # any failure to open is what we report
        return {}, [f"store did not open: {exc!r}"]
    facts = store.facts()
    per_article = Counter(f.article.url for f in facts)
    batches: dict[int, set[int]] = {}
    for url in {a.url for a in store.recent_articles(limit=10**9)} | set(per_article):
        _, _, _, round_no, batch, _ = url.split("/")
        batches.setdefault(int(round_no), set()).add(int(batch))
    for round_no, present in batches.items():
        for batch in present:
            for j in range(2):
                url = f"https://crash/{round_no}/{batch}/{j}"
                if per_article[url] != K or store.article(url) is None:
                    problems.append(f"half a batch: {url} has {per_article[url]} of {K} facts")
        if present != set(range(len(present))):
            problems.append(f"round {round_no}: batches {sorted(present)} are not a prefix")
    for round_no, acknowledged in expected_batches.items():
        if len(batches.get(round_no, ())) < acknowledged:
            problems.append(f"round {round_no}: {acknowledged} acknowledged, {len(batches.get(round_no, ()))} found")
    seqs = sorted(f.seq for f in facts)
    if seqs != list(range(1, len(seqs) + 1)) or store.last_seq != len(seqs):
        problems.append(f"seq not continuous: {len(seqs)} facts, last_seq {store.last_seq}")
    if batches:
        last_round = max(batches)
        want = last_round * 1_000_000 + len(batches[last_round]) - 1
        if store.guild(1).digest_watermark != want:
            problems.append(f"guild state {store.guild(1).digest_watermark} does not match facts ({want})")
    return {r: len(b) for r, b in batches.items()}, problems


def run_round(directory: Path, round_no: int, rng: random.Random, max_delay: float = 0.15,
              timeout: float = 20.0) -> Round:
    """Start a writer, kill it at a random moment after it opened the store, check the store."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                                        os.environ.get("PYTHONPATH")]))}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(directory), str(round_no), str(K)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert child.stdout is not None
    lines: list[bytes] = []
    try:
        deadline = time.monotonic() + timeout
        first = _readline(child, deadline)
        if first != b"ready":
            child.kill()
            err = child.communicate(timeout=timeout)[1].decode(errors="replace")
            return Round(0, 0, [f"writer did not start ({first!r}): {err[-500:]}"])
        time.sleep(rng.uniform(0, max_delay))
        os.kill(child.pid, signal.SIGKILL)
        out, _ = child.communicate(timeout=timeout)
        lines = out.split()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    acknowledged = len(lines)  # the child prints batch numbers 0, 1, ... after each commit
    found, problems = check(directory, {round_no: acknowledged})
    return Round(acknowledged, found.get(round_no, 0), problems)


def _readline(child: subprocess.Popen[bytes], deadline: float) -> bytes:
    assert child.stdout is not None
    fd = child.stdout.fileno()
    buf = b""
    while not buf.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return b"<timeout>"
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
    return buf.strip()
