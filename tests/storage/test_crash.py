"""SIGKILL a writer at random moments: the store opens every time, with no batch half-applied and every
acknowledged batch present (see crashkit.py for what each round checks)."""

from __future__ import annotations

import random
from pathlib import Path

from tests.storage.crashkit import run_round

ROUNDS = 20


def test_killed_writer_never_leaves_half_a_batch(tmp_path: Path) -> None:
    rng = random.Random(20250310)  # the delays are reproducible; the moment the kill lands is not
    results = [run_round(tmp_path, round_no, rng, max_delay=0.12) for round_no in range(ROUNDS)]
    problems = [f"round {i}: {p}" for i, r in enumerate(results) for p in r.problems]
    assert not problems, "\n".join(problems)
    assert sum(r.present for r in results) >= sum(r.acknowledged for r in results)
    assert any(r.present > 0 for r in results)  # the writer got going: kills landed mid-stream
