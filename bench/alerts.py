"""Alerts benchmark: `python bench/alerts.py [--facts N] [--rounds R] [--quick]`.

On a store of N realistic facts (default 100,000, bench/storage.py's generator), a guild with three alert
rules (killed >= 10, injured >= 50, event keywords): how long the alert decision takes after a poll cycle,
from the store read to every alert's embeds, for a cycle's worth of new facts (~15 minutes: 10 facts), a
day's (560) and the most one run reads (5,000). And the cost of recording one delivered alert (one store
commit of the guild's settings: the run does one per accepted post). Target: p99 <= 20 ms for a cycle and
a day. ``--quick``: 2,000 facts, 5 rounds. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from _common import bench_config, pct, peak_rss_mb, storage_bench

from bot.briefing import Briefing, render_embeds
from bot.model import AlertRule
from storage import Batch, TinyStore

GUILD = 10_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="2,000 facts, 5 rounds")
    args = parser.parse_args()
    if args.quick:
        args.facts, args.rounds = 2000, 5
    sb = storage_bench()
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        built, build_s = sb.build(TinyStore.open_sync(Path(tmp)), args.facts, now, rng)
        built.close_sync()
        store = TinyStore.open_sync(Path(tmp))
        briefing = Briefing(store, bench_config(Path(tmp)))
        rules = [AlertRule("a1", 1, min_killed=10), AlertRule("a2", 2, min_injured=50, role_id=9),
                 AlertRule("a3", 1, keywords=("ceasefire", "airstrike", "border", "talks"))]
        result: dict[str, float] = {}
        print(f"store: {args.facts} facts built in {build_s:.1f} s; 3 rules; {args.rounds} rounds each")
        for name, new in (("cycle", 10), ("day", 560), ("max", 5000)):
            guild = replace(store.guild(GUILD), alert_rules={r.id: r.to_json() for r in rules},
                            alert_watermark=max(0, store.last_seq - new))
            store.commit_sync(Batch(guilds=(guild,)))
            timings, messages = [], 0
            for _ in range(args.rounds):
                started = time.perf_counter()
                plan = briefing.alerts(GUILD, limit=10, now=now)
                for item in (*plan.messages, *plan.summaries):
                    render_embeds(item.answer)
                timings.append((time.perf_counter() - started) * 1000)
                messages = len(plan.messages) + len(plan.summaries)
            p50, p99 = pct(timings, 50), pct(timings, 99)
            result[f"alerts_{name}_p50_ms"], result[f"alerts_{name}_p99_ms"] = round(p50, 2), round(p99, 2)
            print(f"  {name:<6} {new:>5} new facts: p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   ({messages} messages)")
        records = []
        for i in range(20):
            settings = store.guild(GUILD)
            started = time.perf_counter()
            store.commit_sync(Batch(guilds=(replace(settings, alerts_sent=(*settings.alerts_sent, f"1:f{i}")),)))
            records.append((time.perf_counter() - started) * 1000)
        result["alert_record_p50_ms"] = round(pct(records, 50), 2)
        print(f"  recording one delivered alert (a store commit): p50 {pct(records, 50):.2f} ms")
        result["peak_rss_mb"] = round(peak_rss_mb())
        print(json.dumps(result))


if __name__ == "__main__":
    main()
