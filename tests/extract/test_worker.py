"""Extraction in a worker process: the same facts as in this process, and the process ends with close()."""

from __future__ import annotations

import os
import signal
from datetime import date

from bot.extract import ExtractionWorker, Extractor, InlineExtraction

TEXT = ("Pakistan's military said on Sunday it had killed more than 200 Taliban fighters, while the Taliban "
        "government said 58 Pakistani soldiers were killed.")
ACTORS = {"Pakistan": ["Pakistani military"], "Afghanistan (Taliban)": ["Taliban government"]}


async def test_the_worker_process_gives_the_facts_the_extractor_gives() -> None:
    worker = ExtractionWorker(ACTORS, None)
    try:
        facts = await worker.extract(TEXT, published=date(2025, 10, 12))
        processes = list(worker._pool._processes.values())  # checking the process really ends
    finally:
        worker.close()
    inline = await InlineExtraction(Extractor(ACTORS)).extract(TEXT, published=date(2025, 10, 12))
    assert facts == inline
    claims = {(f.count, f.claimant) for f in facts if f.kind == "casualty"}  # type: ignore[union-attr]
    assert claims == {(200, "Pakistan"), (58, "Afghanistan (Taliban)")}
    assert processes and not any(p.is_alive() for p in processes)


async def test_a_worker_that_dies_is_replaced_and_the_article_is_not_lost() -> None:
    worker = ExtractionWorker(ACTORS, None)
    try:
        await worker.warm()
        for pid in list(worker._pool._processes):  # the worker killed, as the kernel's OOM killer would
            os.kill(pid, signal.SIGKILL)
        facts = await worker.extract(TEXT, published=date(2025, 10, 12))
    finally:
        worker.close()
    assert {f.count for f in facts if f.kind == "casualty"} == {200, 58}  # type: ignore[union-attr]
