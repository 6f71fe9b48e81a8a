"""Storage benchmark: `python bench/storage.py [--facts N] [--crash R] [--keep DIR | --copy KEPT] [--quick]`.

Builds a store of N realistic facts (default 100,000: ~4 facts per article, eight topics, two years of
articles), then measures what the bot feels:

- query latency p50/p99 over the queries commands ask (a topic's facts since 7 and 30 days, a timeline by
  kind, by claimant, by victim, a digest's facts_after(watermark), a fact by id prefix, recent articles,
  guild settings) over the loaded weeks;
- whole-history queries (``cold_query_p99_ms``): a fact by id from any week, an old month's timeline,
  two-word searches over everything; these read partitions outside the loaded weeks from disk;
- ingest throughput of 10,000 new facts in poll-sized batches (50 articles x 4 facts) through the async
  commit, and the largest event-loop stall meanwhile (a 10 ms ticker measuring its own lateness);
- cold start: a fresh process, from Store.open of the store to the first answer;
- peak RSS of this process (which also generated the data) and of the cold-start process;
- with --crash R: R SIGKILL rounds (tests/storage/crashkit.py) and how many reopened cleanly.

Targets at 100k and 1M facts (issue 10): p50 <= 5 ms, p99 <= 20 ms, whole-history p99 <= 2 s, ingest
>= 2,000 facts/s, loop stall <= 100 ms, cold start <= 1 s, peak RSS <= 300 MB. ``--quick``: 2,000 facts, 1,000
ingested, 20 and 5 rounds, one cold start (it only shows that it runs). The last line of output is one JSON
object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.model import Article, Casualty, Event, Fact, GuildSettings, SourceState  # noqa: E402
from storage import TinyStore  # noqa: E402
from storage.api import (  # noqa: E402
    ArticleFacts,
    Batch,
    Store,
)

TOPICS = {  # topic → (weight, places, claimants, victims)
    "gaza": (30, ["Rafah", "Khan Younis", "Gaza City", "Jabalia", "Deir al-Balah", "Nuseirat"],
             ["Gaza health ministry", "Israel", "Hamas", "UN", "WHO"], ["Palestinians", "Israel", "aid workers"]),
    "ukraine": (30, ["Kharkiv", "Bakhmut", "Zaporizhzhia", "Kherson", "Odesa", "Pokrovsk", "Kyiv"],
                ["Ukraine", "Russia", "UN", "Kharkiv governor"], ["Ukraine", "Russia", "civilians"]),
    "sudan": (12, ["El Fasher", "Khartoum", "Omdurman", "Nyala", "El Geneina"],
              ["RSF", "SAF", "UN", "MSF", "Sudan Doctors Network"], ["civilians", "RSF", "SAF"]),
    "yemen": (8, ["Sanaa", "Hodeidah", "Marib", "Taiz"], ["Houthis", "Saudi-led coalition", "UN"],
              ["civilians", "Houthis"]),
    "syria": (8, ["Idlib", "Aleppo", "Homs", "Deir ez-Zor", "Latakia"], ["SOHR", "Syria", "HTS", "UN"],
              ["civilians", "Syria", "HTS"]),
    "pak-afg": (5, ["Kurram", "Chaman", "Torkham", "Khost", "Bajaur"], ["Pakistan", "Afghanistan (Taliban)"],
                ["Pakistan", "Afghanistan (Taliban)", "civilians"]),
    "drc": (4, ["Goma", "Bukavu", "Beni", "Bunia"], ["M23", "DRC", "MONUSCO", "UN"], ["civilians", "DRC", "M23"]),
    "myanmar": (3, ["Lashio", "Myawaddy", "Sittwe", "Mandalay"], ["Myanmar junta", "AA", "NUG"],
                ["civilians", "Myanmar junta"]),
}
OUTLETS = ["Reuters", "AP", "AFP", "BBC", "Al Jazeera", "The Guardian", "Kyiv Independent", "Dawn", "France 24"]
CATEGORIES = ["killed"] * 5 + ["injured"] * 3 + ["captured", "missing", "arrested", "displaced"]
QUALIFIERS = ["exact", "at_least", "at_least", "more_than", "about", "up_to", "range", "vague"]
FILLER = ["according to officials who spoke on condition of anonymity",
          "in what residents described as the heaviest bombardment in weeks",
          "as rescue teams searched the rubble through the night",
          "a figure that could not be independently verified",
          "hospital staff said, adding that many were in critical condition",
          "in a statement published late on Tuesday",
          "while aid agencies warned that the toll was likely to rise"]
EVENTS = ["Ceasefire talks resume in {p}", "Strike hits hospital in {p}", "Forces enter {p}",
          "Evacuation ordered for {p}", "Aid convoy reaches {p}", "Drone attack on {p} power grid",
          "Prisoner exchange agreed near {p}", "Curfew imposed in {p}"]


def _quote(rng: random.Random, core: str) -> str:
    text = core
    while len(text) < rng.randint(150, 250):
        text += ", " + rng.choice(FILLER)
    return text[:250].rstrip(", ") + "."


def _fact(rng: random.Random, places: list[str], claimants: list[str], victims: list[str], when: datetime,
          event: bool) -> Fact:
    place = rng.choice(places)
    if event:
        summary = rng.choice(EVENTS).format(p=place)
        return Event(summary=summary, quote=_quote(rng, f"{summary} on {when:%A}"), date=f"{when:%Y-%m-%d}",
                     date_precision="day", actors=tuple(rng.sample(claimants, min(2, len(claimants)))),
                     location=place)
    category, qualifier = rng.choice(CATEGORIES), rng.choice(QUALIFIERS)
    count = None if qualifier == "vague" else rng.choice([rng.randint(1, 30), rng.randint(30, 500)])
    claimant = rng.choice([*claimants, None])
    victim = rng.choice(victims)
    said = f"{claimant} said" if claimant else "local reports said"
    return Casualty(category=category, count=count, qualifier=qualifier,  # type: ignore[arg-type]
                    quote=_quote(rng, f"At least {count or 'dozens of'} {victim} were {category} in {place}, {said}"),
                    count_high=count + rng.randint(1, 20) if qualifier == "range" and count else None,
                    victim=victim, victim_text=victim, claimant=claimant, claimant_text=claimant,
                    date=f"{when:%Y-%m-%d}", location=place)


def make_articles(rng: random.Random, n_articles: int, start: datetime, end: datetime, tag: str) -> list[ArticleFacts]:
    """``n_articles`` articles of 4 facts each, published between start and end, oldest first."""
    names = list(TOPICS)
    weights = [TOPICS[t][0] for t in names]
    span = (end - start).total_seconds()
    times = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(n_articles))
    out = []
    for i, when in enumerate(times):
        topic = rng.choices(names, weights)[0]
        topics = (topic,) if rng.random() < 0.9 else tuple(dict.fromkeys((topic, rng.choices(names, weights)[0])))
        _, places, claimants, victims = TOPICS[topic]
        outlet = rng.choice(OUTLETS)
        url = f"https://{outlet.lower().replace(' ', '')}.example/{when:%Y/%m/%d}/{tag}-{i}"
        facts = tuple(_fact(rng, places, claimants, victims, when, event=rng.random() < 0.25) for _ in range(4))
        title = f"{rng.choice(places)}: {facts[0].quote[:rng.randint(40, 80)]}"
        article = Article(url=url, outlet=outlet, title=title, published=when, source_id=outlet.lower(),
                          text_hash=f"{tag}-{i}-{rng.getrandbits(64):x}", topics=topics,
                          guid=f"guid-{tag}-{i}", summary=facts[0].quote, fetched_at=when)
        out.append(ArticleFacts(article, facts))
    return out


def build(store: Store, n_facts: int, now: datetime, rng: random.Random) -> tuple[Store, float]:
    """Two years of articles, generated and committed a slice at a time: the generator never holds more
    than a slice, so the peak RSS measured is the store's, not the test data's."""
    store.commit_sync(Batch(
        sources=tuple(SourceState(id=f"src{i}", name=f"Source {i}", url=f"https://src{i}.example/rss")
                      for i in range(50)),
        guilds=tuple(GuildSettings(guild_id=10_000 + i, digest_channel_id=i, digest_enabled=True,
                                   digest_watermark=0) for i in range(200)),
    ))
    n_articles, slices = n_facts // 4, max(1, n_facts // 20_000)
    start, span = now - timedelta(days=730), timedelta(days=730) - timedelta(hours=1)
    t0 = time.perf_counter()
    for k in range(slices):
        count = n_articles * (k + 1) // slices - n_articles * k // slices
        articles = make_articles(rng, count, start + span * k / slices, start + span * (k + 1) / slices,
                                 f"base{k}" if slices > 1 else "base")
        for i in range(0, len(articles), 250):
            store.commit_sync(Batch(articles=tuple(articles[i:i + 250])))
    return store, time.perf_counter() - t0


def measure_queries(store: Store, now: datetime, rng: random.Random, rounds: int) -> dict[str, list[float]]:
    ids = [f.id for f in store.facts(since=now - timedelta(days=365), limit=5000)]
    names = list(TOPICS)
    queries: dict[str, Callable[[], Any]] = {
        "topic_since_7d": lambda: store.facts(topics=[rng.choice(names)], since=now - timedelta(days=7)),
        "topic_since_30d": lambda: store.facts(topics=[rng.choice(names)], since=now - timedelta(days=30)),
        "timeline_events_30d": lambda: store.facts(topics=[rng.choice(names)], kind="event",
                                                   since=now - timedelta(days=30)),
        "by_claimant": lambda: store.facts(topics=["gaza"], claimant=rng.choice(TOPICS["gaza"][2]),
                                           since=now - timedelta(days=30)),
        "by_victim_all_topics_limit50": lambda: store.facts(victim="civilians", category="killed", limit=50),
        "facts_after_watermark": lambda: store.facts_after(store.last_seq - rng.randint(50, 400),
                                                           topics=[rng.choice(names)]),
        "fact_by_prefix": lambda: store.fact(rng.choice(ids)[:6]),
        "recent_articles": lambda: store.recent_articles(topics=[rng.choice(names)], limit=10),
        "guild_settings": lambda: store.guild(10_000 + rng.randrange(200)),
    }
    return _time_queries(queries, rounds)


def _time_queries(queries: dict[str, Callable[[], Any]], rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {name: [] for name in queries}
    for _ in range(rounds):
        for name, query in queries.items():
            t = time.perf_counter()
            query()
            out[name].append((time.perf_counter() - t) * 1000)
    return out


def measure_cold_queries(store: Store, now: datetime, rng: random.Random, rounds: int) -> dict[str, list[float]]:
    """Queries over the whole history, beyond the loaded weeks: a fact by id from any week, a month's
    timeline of one topic in the first 20 months, a search of two words over everything."""
    old_ids = [f.id for days in range(60, 730, 23)
               for f in store.facts(since=now - timedelta(days=days + 1), until=now - timedelta(days=days), limit=3)]
    names = list(TOPICS)
    places = [p for _, places, _, _ in TOPICS.values() for p in places if " " not in p]

    def old_month() -> list[Any]:
        start = now - timedelta(days=rng.randint(90, 700))
        return store.facts(topics=[rng.choice(names)], kind="event", since=start, until=start + timedelta(days=30))

    queries: dict[str, Callable[[], Any]] = {
        "cold_fact_by_id": lambda: store.fact(rng.choice(old_ids)),
        "cold_timeline_month": old_month,
        # A search is over all history by definition: it reads old weeks until it has its newest 50.
        "search_2_words": lambda: store.search(f"{rng.choice(places)} {rng.choice(['killed', 'injured'])}"),
        "cold_search_2_words": lambda: store.search(f"{rng.choice(places)} {rng.choice(['curfew', 'convoy'])}"),
    }
    return _time_queries(queries, rounds)


async def measure_ingest(store: Store, now: datetime, rng: random.Random, n_facts: int) -> tuple[float, float]:
    # a tag of its own: a store copied with --copy may already hold an earlier run's new articles
    articles = make_articles(rng, n_facts // 4, now - timedelta(minutes=50), now, f"new{now:%H%M%S}")
    batches = [Batch(articles=tuple(articles[i:i + 50])) for i in range(0, len(articles), 50)]
    stall = 0.0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal stall
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            due = loop.time() + 0.010
            await asyncio.sleep(0.010)
            stall = max(stall, loop.time() - due)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.05)
    t0 = time.perf_counter()
    for batch in batches:
        await store.commit(batch)
    elapsed = time.perf_counter() - t0
    stop.set()
    await task
    return n_facts / elapsed, stall * 1000


COLD = r"""
import sys, time
from datetime import datetime, timedelta, timezone
t_start = time.perf_counter()
if sys.argv[2] == "postgres":
    from storage import PgStore
    t_import = time.perf_counter()
    store = PgStore.open_sync(sys.argv[3], schema=sys.argv[1])
else:
    from storage import TinyStore
    t_import = time.perf_counter()
    store = TinyStore.open_sync(sys.argv[1])
answer = store.facts(topics=["gaza"], since=datetime.now(timezone.utc) - timedelta(days=7))
t_answer = time.perf_counter()
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so it reported the benchmark process's own peak
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(t_answer - t_import, t_answer - t_start, len(answer), hwm / 1024)
"""


def measure_cold_start(where: str, driver: str, dsn: str, runs: int = 3) -> tuple[float, float, float]:
    """Best of ``runs`` fresh processes: (open → first answer s, whole process incl. imports s, RSS MB)."""
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD, where, driver, dsn], capture_output=True, text=True,
                             check=True, cwd=ROOT).stdout.split()
        results.append((float(out[0]), float(out[1]), float(out[3])))
    return min(results)


def run_crash(rounds: int) -> tuple[int, list[str]]:
    from tests.storage.crashkit import run_round

    rng = random.Random(7)
    clean, problems = 0, []
    with tempfile.TemporaryDirectory(prefix="sitrep-crash-") as tmp:
        for i in range(rounds):
            result = run_round(Path(tmp), i, rng, max_delay=0.25)
            clean += not result.problems
            problems += [f"round {i}: {p}" for p in result.problems]
    return clean, problems


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Bench:
    """One driver's store for the run: TinyDB files in a directory, or a PostgreSQL schema of its own."""

    def __init__(self, driver: str, directory: Path, dsn: str) -> None:
        self.driver, self.directory, self.dsn = driver, directory, dsn
        self.schema = f"bench_{os.getpid()}"

    @property
    def where(self) -> str:
        return self.schema if self.driver == "postgres" else str(self.directory)

    def open(self) -> Store:
        if self.driver == "postgres":
            from storage import PgStore

            return PgStore.open_sync(self.dsn, schema=self.schema)
        return TinyStore.open_sync(self.directory)

    def size_mb(self) -> float:
        if self.driver == "postgres":
            return float(_sql(self.dsn, "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                                        "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                        f"WHERE n.nspname = '{self.schema}' AND c.relkind = 'r'")) / 2**20
        return sum(p.stat().st_size for p in self.directory.iterdir()) / 2**20

    def drop(self) -> None:
        if self.driver == "postgres":
            _sql(self.dsn, f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


def _sql(dsn: str, sql: str) -> Any:
    import asyncpg

    async def run() -> Any:
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetchval(sql)
        finally:
            await conn.close()

    return asyncio.run(run())


def measure(bench: Bench, args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    rng = random.Random(2025)
    print(f"== {bench.driver} ==", flush=True)
    if args.copy and bench.driver == "tinydb":  # a store kept by an earlier run: measure without building again
        shutil.copytree(args.copy, bench.directory)
        print(f"copied the store in {args.copy} to {bench.directory}", flush=True)
        store, build_s = bench.open(), float("nan")
    else:
        print(f"building a store of {args.facts:,} facts in {bench.where} ...", flush=True)
        store, build_s = build(bench.open(), args.facts, now, rng)
    if bench.driver == "postgres":  # statistics and visibility map, as autovacuum makes them after a bulk load
        _sql(bench.dsn, f'VACUUM (ANALYZE) "{bench.schema}".articles, "{bench.schema}".facts, '
                        f'"{bench.schema}".fact_topics')
    stats = store.stats()
    store.close_sync()
    del store  # measure what the bot runs on: the store as opened after a restart
    store = bench.open()
    asyncio.run(store.warm_search())  # as the bot does before it connects
    print(f"  built in {build_s:.1f} s: {stats['facts']:,} facts, {stats['articles']:,} articles, "
          f"{stats['partitions']} partitions, {bench.size_mb():.0f} MB on disk")

    latencies = measure_queries(store, now, rng, args.rounds)
    every = [v for values in latencies.values() for v in values]
    print(f"query latency over {len(every):,} queries (ms):")
    for name, values in latencies.items():
        print(f"  {name:30s} p50 {statistics.median(values):7.3f}   p99 {pct(values, 0.99):7.3f}   "
              f"max {max(values):7.3f}")

    cold = measure_cold_queries(store, now, rng, args.cold_rounds)
    cold_every = [v for values in cold.values() for v in values]
    print(f"queries over the whole history ({len(cold_every)}) (ms):")
    for name, values in cold.items():
        print(f"  {name:30s} p50 {statistics.median(values):7.1f}   p99 {pct(values, 0.99):7.1f}   "
              f"max {max(values):7.1f}")

    ingest_rate, stall_ms = asyncio.run(measure_ingest(store, now, rng, args.ingest))
    print(f"ingest: {args.ingest:,} facts in batches of 200 at {ingest_rate:,.0f} facts/s; "
          f"max event-loop stall {stall_ms:.1f} ms")
    facts = store.stats()["facts"]
    store.close_sync()  # releases the writer lock: the cold-start process opens the store as the bot does
    cold_s, cold_total_s, cold_rss = measure_cold_start(bench.where, bench.driver, bench.dsn,
                                                        runs=1 if args.quick else 3)
    print(f"cold start ({facts:,} facts): open → first answer {cold_s:.3f} s "
          f"({cold_total_s:.3f} s with imports), RSS {cold_rss:.0f} MB")
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process so far (generator + store + ingest): {peak_rss:.0f} MB")
    return {
        "facts": args.facts,
        "query_p50_ms": round(statistics.median(every), 3),
        "query_p99_ms": round(pct(every, 0.99), 3),
        "cold_query_p99_ms": round(pct(cold_every, 0.99), 1),
        "ingest_facts_per_s": round(ingest_rate),
        "max_loop_stall_ms": round(stall_ms, 1),
        "cold_start_s": round(cold_s, 3),
        "cold_start_with_imports_s": round(cold_total_s, 3),
        "peak_rss_mb": round(peak_rss),
        "cold_start_rss_mb": round(cold_rss),
        "build_s": None if math.isnan(build_s) else round(build_s, 1),
    }


def missed_targets(result: dict[str, Any], ingest_target: int) -> list[str]:
    targets = {"query_p50_ms": 5, "query_p99_ms": 20, "cold_query_p99_ms": 2000, "max_loop_stall_ms": 100,
               "cold_start_s": 1, "peak_rss_mb": 300}
    missed = [k for k, limit in targets.items() if result[k] > limit]
    if result["ingest_facts_per_s"] < ingest_target:
        missed.append("ingest_facts_per_s")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=100_000)
    parser.add_argument("--driver", choices=["tinydb", "postgres"], default="tinydb",
                        help="postgres: measure the PostgreSQL driver (SITREP_DATABASE_URL, else the local test "
                             "server) side by side with TinyDB, in one run")
    parser.add_argument("--ingest", type=int, default=10_000, help="new facts to ingest (default 10,000)")
    parser.add_argument("--rounds", type=int, default=200, help="query rounds (each asks every query once)")
    parser.add_argument("--cold-rounds", type=int, default=30, help="rounds of whole-history queries")
    parser.add_argument("--crash", type=int, nargs="?", const=100, default=0,
                        help="also run R SIGKILL rounds (default off; 100 if given without a number)")
    parser.add_argument("--keep", type=Path, help="build the TinyDB store in DIR (must not exist) and keep it")
    parser.add_argument("--copy", type=Path, metavar="KEPT",
                        help="measure a copy of a TinyDB store kept with --keep instead of building one")
    parser.add_argument("--quick", action="store_true", help="2,000 facts, 1,000 ingested, 20 and 5 rounds")
    args = parser.parse_args()
    if args.quick:
        args.facts, args.ingest, args.rounds, args.cold_rounds = 2000, 1000, 20, 5
    now = datetime.now(UTC)
    dsn = os.environ.get("SITREP_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"
    with tempfile.TemporaryDirectory(prefix="sitrep-bench-") as tmp:
        result = measure(Bench("tinydb", args.keep or Path(tmp) / "store", dsn), args, now)
        result["targets_missed"] = missed_targets(result, 2000)
        if args.driver == "postgres":
            bench = Bench("postgres", Path(tmp), dsn)
            try:
                pg = measure(bench, args, now)
            finally:
                bench.drop()
            # Issue 11's targets for the PostgreSQL driver: query p99 <= 20 ms, ingest >= 5,000 facts/s. RSS and
            # cold start are the bot process's (the server's memory is its own).
            pg["targets_missed"] = [k for k in missed_targets(pg, 5000) if k in ("query_p99_ms", "ingest_facts_per_s")]
            result["postgres"] = pg
    if args.crash:
        clean, problems = run_crash(args.crash)
        for problem in problems[:20]:
            print(f"  crash: {problem}")
        print(f"crash test: {clean}/{args.crash} kills reopened cleanly with no half batch")
        result.update(crash_rounds=args.crash, crash_clean=clean)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
