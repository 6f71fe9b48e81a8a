"""Briefing benchmark: `python bench/briefing.py [--facts N] [--rounds R]`.

On a store of N realistic facts (default 100,000, bench/storage.py's generator: two years, eight topics),
times each answer a user asks for, from the store query to the rendered text AND Discord embeds:
/casualties (default 30-day window), /timeline, and a guild's digest (a day of new facts since its
watermark). Targets: p99 <= 20 ms each. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from _common import bench_config, pct, peak_rss_mb, storage_bench

from bot.briefing import Briefing, render_embeds, render_text
from storage import Batch, Store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    sb = storage_bench()
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store, build_s = sb.build(Path(tmp), args.facts, now, rng)
        store.close_sync()
        store = Store.open_sync(Path(tmp))  # measured as the bot runs: on a store opened from disk, warmed
        asyncio.run(store.warm_search())
        config = bench_config(Path(tmp))
        briefing = Briefing(store, config)
        guild = replace(store.guild(10_000), digest_watermark=max(0, store.last_seq - 560))  # ~a day of new facts
        store.commit_sync(Batch(guilds=(guild,)))
        topics = [t.id for t in config.topics]
        questions = {
            "casualties": lambda t: briefing.casualties(t, now=now),
            "timeline": briefing.timeline,
            "digest": lambda t: briefing.digest(guild.guild_id, now=now),
        }
        timings: dict[str, list[float]] = {name: [] for name in questions}
        sizes: dict[str, int] = {}
        for name, ask in questions.items():
            for i in range(args.rounds):
                topic = topics[i % len(topics)]
                started = time.perf_counter()
                answer = ask(topic)
                pages = render_embeds(answer)
                render_text(answer)
                timings[name].append((time.perf_counter() - started) * 1000)
                sizes[name] = max(sizes.get(name, 0), len(pages))
        print(f"store: {args.facts} facts built in {build_s:.1f} s; {args.rounds} rounds per answer over "
              f"{len(topics)} topics")
        result: dict[str, float] = {}
        for name, values in timings.items():
            p50, p99 = pct(values, 50), pct(values, 99)
            result[f"{name}_p50_ms"], result[f"{name}_p99_ms"] = round(p50, 2), round(p99, 2)
            print(f"  {name:<11} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   max {max(values):7.2f} ms   "
                  f"(up to {sizes[name]} pages)")
        result["peak_rss_mb"] = round(peak_rss_mb())
        print(json.dumps(result))


if __name__ == "__main__":
    main()
