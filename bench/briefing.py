"""Briefing benchmark: `python bench/briefing.py [--facts N] [--rounds R] [--quick]`.

On a store of N realistic facts (default 100,000, bench/storage.py's generator: two years, eight topics),
times each answer a user asks for, from the store query to the rendered text AND Discord embeds:
/casualties (default 30-day window), /timeline, and a guild's digest (a day of new facts since its
watermark). Targets: p99 <= 20 ms each.

chart: `/casualties chart:true`'s chart for a topic's 30-day window (a month of a busy topic), from the store
query to the PNG bytes. Target: p99 <= 1,000 ms. The first chart of a process also loads matplotlib and its
fonts; it is measured apart (chart_first_ms) and left out of the percentiles.

map: /map's PNG for a topic's 30-day window, from the store query (incidents) to the PNG bytes. The generated
facts carry no gazetteer place and their stories are not linked, so the window's incidents are topped up to 300
(a month of a busy topic), three in four given a place in one region and the rest listed under the map.
Target: p99 <= 1,000 ms (map_p99_ms); the first map of a process also reads the outlines (map_first_ms).

Then exports (/export, `python -m bot export`): every claim of every topic (no since) as CSV and as JSON,
from the store query to the encoded bytes; ``export_rows_per_s`` is the CSV rate. ``export_query_ms`` is the
store query on its own (old weeks are read from disk); /export runs it, and the rows, encoding and splitting,
in a worker thread. ``--quick``: 2,000 facts, 20 rounds, 1 chart, 1 export round (it only shows that it runs).
The last line is one JSON object.
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

from bot.briefing import Briefing, MapData, render_chart, render_embeds, render_export, render_map, render_text
from bot.briefing._export import export_files
from bot.briefing._map import frame_for
from bot.briefing._map_data import Marker
from bot.model import Place
from storage import Batch, TinyStore


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--chart-rounds", type=int, default=40, help="charts drawn (each takes ~0.1-0.5 s)")
    parser.add_argument("--map-rounds", type=int, default=20, help="maps drawn")
    parser.add_argument("--quick", action="store_true", help="2,000 facts, 20 rounds, 1 chart, 1 export round")
    args = parser.parse_args()
    if args.quick:
        args.facts, args.rounds, args.chart_rounds = 2000, 20, 1
    sb = storage_bench()
    rng = random.Random(7)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        store, build_s = sb.build(TinyStore.open_sync(Path(tmp)), args.facts, now, rng)
        store.close_sync()
        store = TinyStore.open_sync(Path(tmp))  # measured as the bot runs: on a store opened from disk, warmed
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
        started = time.perf_counter()
        render_chart(briefing.casualties_chart(topics[0], now=now))
        chart_first_ms = (time.perf_counter() - started) * 1000
        timings["chart"] = []
        figures, chart_bytes = 0, 0
        for i in range(args.chart_rounds):
            started = time.perf_counter()
            data = briefing.casualties_chart(topics[i % len(topics)], now=now)
            png = render_chart(data)
            timings["chart"].append((time.perf_counter() - started) * 1000)
            figures = max(figures, sum(len(p.points) for p in data.panels))
            chart_bytes = max(chart_bytes, len(png))
        started = time.perf_counter()
        render_map(placed(briefing.map(topics[0], now=now), rng))
        map_first_ms = (time.perf_counter() - started) * 1000
        timings["map"] = []
        markers = 0
        for i in range(args.map_rounds):
            started = time.perf_counter()
            data = placed(briefing.map(topics[i % len(topics)], now=now), rng)
            render_map(data)
            timings["map"].append((time.perf_counter() - started) * 1000)
            markers = max(markers, len(data.markers) + len(data.unplaced))
        sizes["map"] = markers
        print(f"store: {args.facts} facts built in {build_s:.1f} s; {args.rounds} rounds per answer over "
              f"{len(topics)} topics, {args.chart_rounds} charts")
        result: dict[str, float] = {}
        for name, values in timings.items():
            p50, p99 = pct(values, 50), pct(values, 99)
            result[f"{name}_p50_ms"], result[f"{name}_p99_ms"] = round(p50, 2), round(p99, 2)
            what = (f"up to {sizes[name]} incidents" if name == "map" else f"up to {sizes[name]} pages" if name in sizes
                    else f"up to {figures} points, {chart_bytes:,} bytes")
            print(f"  {name:<11} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   max {max(values):7.2f} ms   ({what})")
        result["chart_first_ms"] = round(chart_first_ms, 2)
        result["map_first_ms"] = round(map_first_ms, 2)
        print(f"  first chart of the process (loads matplotlib and fonts): {chart_first_ms:.0f} ms")
        result.update(measure_exports(briefing, now, rounds=1 if args.quick else 3))
        result["peak_rss_mb"] = round(peak_rss_mb())
        print(json.dumps(result))


def placed(data: MapData, rng: random.Random, busy: int = 300) -> MapData:
    """The window's incidents, half of them given a place in one region (the generated facts have none), topped
    up to ``busy`` incidents (a month of a busy topic; the generated stories are not linked into incidents)."""
    from bot.briefing._map_data import Unplaced

    items = [*data.unplaced, *(Unplaced(f"gen{i}", f"Generated incident {i}: {i % 90 + 1} killed (Side {i % 4})")
                               for i in range(max(0, busy - len(data.unplaced) - len(data.markers))))]
    markers = list(data.markers)
    unplaced = []
    for i, item in enumerate(items):
        if i % 4 == 3:
            unplaced.append(item)
            continue
        place = Place(f"Town {i}", rng.uniform(30, 36), rng.uniform(66, 74), "PK", "town", "Khyber Pakhtunkhwa")
        markers.append(Marker(item.incident_id, item.label, place, rng.randint(1, 200), "", f"Side {i % 4}",
                              i % 3 == 0))
    markers.sort(key=lambda m: -m.figure)
    return MapData(data.title, tuple(markers), tuple(unplaced), frame_for([m.place for m in markers]))


def measure_exports(briefing: Briefing, now: datetime, rounds: int = 3) -> dict[str, float]:
    """The best of ``rounds`` full exports (all topics, everything stored), CSV and JSON, from the store query
    to the encoded bytes; and the store query on its own (run in /export's worker thread, off the event loop)."""
    result: dict[str, float] = {}
    loop_ms = min(_timed(lambda: briefing._export_facts(None, None, None, now)) for _ in range(rounds))
    for fmt in ("csv", "json"):
        best, rows, size = float("inf"), 0, 0
        for _ in range(rounds):
            started = time.perf_counter()
            export = briefing.export(None, now=now)
            data = render_export(export, fmt)  # type: ignore[arg-type]
            best = min(best, time.perf_counter() - started)
            rows, size = len(export.rows), len(data)
        parts = len(export_files(export, fmt, limit=8 * 1024 * 1024, max_parts=1000))  # type: ignore[arg-type]
        rate = rows / best
        print(f"  export {fmt:<4} {rows:,} rows in {best * 1000:7.0f} ms ({rate:,.0f} rows/s), {size / 1e6:.1f} MB, "
              f"{parts} file(s) of at most 8 MiB")
        result["export_rows_per_s" if fmt == "csv" else "export_json_rows_per_s"] = round(rate)
    result["export_rows"], result["export_query_ms"] = rows, round(loop_ms, 1)
    print(f"  export store query: {loop_ms:.0f} ms (in /export's worker thread, with the rows and files)")
    return result


def _timed(work: object) -> float:
    started = time.perf_counter()
    work()  # type: ignore[operator]
    return (time.perf_counter() - started) * 1000


if __name__ == "__main__":
    main()
