"""The answer audit: what a user of /casualties reads on real news, line by line, against the annotations.

    python bench/answers.py [--split dev|heldout] [--quiet] [--quick]

Run by hand: it needs the real-news texts in the git-ignored cache (rebuild them with
``python3 tests/data/realnews/realnews.py rebuild``); ``make test`` runs it with ``--quick`` (the split's first
12 articles) only where that cache is, so never in CI. It

1. serves each outlet of each conflict as its own RSS feed (a 55-word teaser per item) with article pages on
   127.0.0.1;
2. runs ``python -m bot poll --once`` on a fresh data directory, exactly as a deployment would;
3. renders ``/casualties`` per topic and checks every claim line (figure, category, claimant, victim side)
   and every statement the bot derives itself (a revision, a range) against the annotations;
4. scores the stored facts the way the shared scorer does (figure, full match, events with dates).

It prints each wrong line with its quote, and last a JSON object with ``claim_line_precision``,
``derived_precision``, ``derived_statements``, ``full_match_f1``, ``figure_f1``, ``event_with_date_f1``.

A claim line is right when its fact matches an annotated claim (same category and figure, the annotated
sentence in the fact's quote) whose claimant and victim aliases it names. A revision is right when both
figures match annotated claims with the same claimant, victim and incident date, the later figure from a
later article; a range when both ends match annotated claims about the same victims and incident date, from
different claimants. Lines matching only optional annotations count neither way.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from _realnews import ROOT, any_alias, groups, load, overlap, overlaps, text_of
from aiohttp import web

from bot.briefing import Answer, Briefing, Line, Ref, Source, render_text
from bot.config import load_config
from bot.model import Casualty, Event, StoredFact

GENERIC = {"", "sources", "reports", "media", "unknown"}


# --- 1. the set as feeds ------------------------------------------------------------------------------


def outlet_of(url: str) -> str:
    host = urlparse(url).netloc.removeprefix("www.")
    return host.split(".")[0].title() or "Outlet"


def feeds(articles: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(conflict, outlet) → its articles: one source per outlet, so outlets and story links are real."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for a in articles:
        out[(a["conflict"], outlet_of(a["url"]))].append(a)
    return out


async def serve(articles: list[dict[str, Any]]) -> tuple[web.AppRunner, str]:
    by_feed = feeds(articles)
    app = web.Application()

    async def feed(request: web.Request) -> web.Response:
        items = []
        for a in by_feed[(request.match_info["conflict"], request.match_info["outlet"])]:
            published = datetime.fromisoformat(a["published"] + "T12:00:00+00:00")
            title = text_of(a).strip().splitlines()[0][:150]
            teaser = " ".join(text_of(a).split()[:55]) + " […]"  # a feed's teaser, cut short as feeds do
            items.append(f"<item><title>{html.escape(title)}</title><link>{base}/a/{a['id']}</link>"
                         f"<description>{html.escape(teaser)}</description>"
                         f"<guid>{html.escape(a['url'])}</guid><pubDate>{format_datetime(published)}</pubDate></item>")
        body = f"<?xml version='1.0'?><rss version='2.0'><channel><title>audit</title>{''.join(items)}</channel></rss>"
        return web.Response(text=body, content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        a = next(x for x in articles if x["id"] == request.match_info["id"])
        title, *paragraphs = text_of(a).strip().splitlines() or [""]
        body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs if p.strip())
        page = (f"<html><head><title>{html.escape(title)}</title></head><body><article>"
                f"<h1>{html.escape(title)}</h1>{body}</article></body></html>")
        return web.Response(text=page, content_type="text/html")

    app.router.add_get("/feed/{conflict}/{outlet}.xml", feed)
    app.router.add_get("/a/{id}", page)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return runner, base


def write_config(path: Path, base: str, articles: list[dict[str, Any]]) -> None:
    lines = ['[bot]', 'data_dir = "data"', '[fetch]', 'allow_private = ["127.0.0.1"]', 'per_host = 8']
    for c in sorted({a["conflict"] for a in articles}):
        lines += ["[[topics]]", f'id = "{c}"', f'name = "{c}"', f'keywords = ["sitrep-audit-{c}"]']
    for i, (c, outlet) in enumerate(sorted(feeds(articles))):
        lines += ["[[sources]]", f'id = "feed-{i}"', f'name = "{outlet}"', f'url = "{base}/feed/{c}/{outlet}.xml"',
                  "full_text = true", f'topics = ["{c}"]']
    config = (ROOT / "config.toml").read_text(encoding="utf-8")
    lines.append(config[config.index("[actors]"):])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def poll(articles: list[dict[str, Any]], work: Path) -> Path:
    runner, base = await serve(articles)
    try:
        config = work / "config.toml"
        write_config(config, base, articles)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "--config", str(config), "--data-dir", str(work / "data"), "poll", "--once",
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"poll --once failed:\n{out.decode()[-2000:]}")
        return config
    finally:
        await runner.cleanup()


# --- 2. matching facts to the annotations ---------------------------------------------------------------


class Gold:
    def __init__(self, articles: list[dict[str, Any]]) -> None:
        self.by_url = {f"/a/{a['id']}": a for a in articles}

    def article(self, f: StoredFact) -> dict[str, Any] | None:
        return self.by_url.get(urlparse(f.article.url).path)

    def claims(self, f: StoredFact) -> list[tuple[dict[str, Any], bool]]:
        """The annotated claims this casualty fact states (each with whether it is required)."""
        a = self.article(f)
        c = f.fact
        if a is None or not isinstance(c, Casualty):
            return []
        gold = a["casualties"]
        root = groups(gold)
        return [(g, not gold[root[i]].get("optional")) for i, g in enumerate(gold)
                if g["category"] == c.category and g.get("count") == c.count and overlaps(g["sentence"], c.quote)
                and (g["qualifier"] != "range" or g.get("count_high") == c.count_high)]


def claimant_right(g: dict[str, Any], c: Casualty) -> bool:
    empty = (c.claimant or "").casefold() in GENERIC and (c.claimant_text or "").casefold() in GENERIC
    if not g["claimant"]:
        return empty
    if empty:
        return bool(g.get("claimant_empty_ok"))
    return any_alias(g["claimant"], c.claimant, c.claimant_text)


def victim_right(g: dict[str, Any], c: Casualty) -> bool:
    return any_alias(g["victim"], c.victim, c.victim_text)


def judge_line(line: Line, facts: dict[str, StoredFact], gold: Gold) -> tuple[bool | None, str]:
    """(right, why) for a claim line; None when it matches only optional annotations."""
    ref = next((s for s in line.segments if isinstance(s, Ref)), None)
    f = facts.get(ref.fact_id) if ref else None
    if f is None or not isinstance(f.fact, Casualty):
        return None, "no fact"
    matches = gold.claims(f)
    if not matches:
        return False, "no annotated claim has this figure and category"
    required = [g for g, req in matches if req]
    if not required:
        return None, "optional"
    if any(claimant_right(g, f.fact) and victim_right(g, f.fact) for g in required):
        return True, ""
    g = required[0]
    return False, f"annotated claimant {g['claimant']} victim {g['victim']}"


def judge_derived(line: Line, facts: dict[str, StoredFact], gold: Gold, kind: str) -> tuple[bool, str]:
    ends = [facts.get(i) for i in line.basis]
    if len(ends) != 2 or None in ends:
        return False, "no basis"
    a, b = ends
    assert a is not None and b is not None
    ga = [g for g, _ in gold.claims(a) if claimant_right(g, a.fact) and victim_right(g, a.fact)]  # type: ignore[arg-type]
    gb = [g for g, _ in gold.claims(b) if claimant_right(g, b.fact) and victim_right(g, b.fact)]  # type: ignore[arg-type]
    if not ga or not gb:
        return False, "an end matches no annotated claim with its claimant and victim"
    same_day = any(x.get("date") == y.get("date") or y.get("date") in (x.get("date_alt") or [])
                   for x in ga for y in gb)
    shared_victim = any(set(map(str.casefold, x["victim"])) & set(map(str.casefold, y["victim"]))
                        for x in ga for y in gb)
    if not same_day or not shared_victim:
        return False, "the annotations do not put both figures on one incident and one side"
    if kind == "revision":
        later = (b.article.published or datetime.min) > (a.article.published or datetime.min)
        same_claimant = any(set(map(str.casefold, x["claimant"])) & set(map(str.casefold, y["claimant"]))
                            for x in ga for y in gb)
        return (later and same_claimant), "" if later and same_claimant else "not one claimant's later report"
    different = all(not (set(map(str.casefold, x["claimant"])) & set(map(str.casefold, y["claimant"])))
                    for x in ga for y in gb)
    return different, "" if different else "both ends from one claimant"


# --- 3. scoring the stored facts like the shared scorer --------------------------------------------------


def _pairs(preds: list[Any], items: list[dict[str, Any]], fits: Any, rank: Any) -> dict[int, int]:
    """One-to-one, greedily, the way the shared scorer pairs: whole-sentence matches first, then the pairs
    with more attributes right."""
    candidates = sorted((2 - overlap(g["sentence"], p.quote), -rank(g, p), gi, pi)
                        for pi, p in enumerate(preds) for gi, g in enumerate(items)
                        if fits(g, p) and overlap(g["sentence"], p.quote))
    used_p: set[int] = set()
    used_g: set[int] = set()
    out: dict[int, int] = {}
    for _, _, gi, pi in candidates:
        if pi not in used_p and gi not in used_g:
            used_p.add(pi)
            used_g.add(gi)
            out[pi] = gi
    return out


def _same_figure(g: dict[str, Any], c: Casualty) -> bool:
    return g["category"] == c.category and g.get("count") == c.count and (
        g["qualifier"] != "range" or g.get("count_high") == c.count_high)


def _event_date_right(g: dict[str, Any], e: Event) -> bool:
    n = {"day": 10, "month": 7, "year": 4}[g["precision"]]
    return bool(e.date and len(e.date) >= n and (e.date[:n] == g["date"] or e.date[:n] in (g.get("date_alt") or [])))


def score_facts(stored: list[StoredFact], gold: Gold, articles: list[dict[str, Any]]) -> dict[str, float]:
    by_article: dict[str, list[StoredFact]] = defaultdict(list)
    for f in stored:
        a = gold.article(f)
        if a is not None:
            by_article[a["id"]].append(f)
    fig = [0, 0, 0, 0]  # true predictions, effective predictions, found groups, required groups
    full = [0, 0, 0, 0]
    ev = [0, 0, 0, 0]
    for a in articles:
        facts = by_article.get(a["id"], [])
        cas = [f.fact for f in facts if isinstance(f.fact, Casualty)]
        events = [f.fact for f in facts if isinstance(f.fact, Event)]
        for counts, items, preds, fits, right in (
                (fig, a["casualties"], cas, _same_figure, lambda g, c: True),
                (full, a["casualties"], cas, _same_figure, lambda g, c: claimant_right(g, c) and victim_right(g, c)),
                (ev, a["events"], events, lambda g, e: True, _event_date_right)):
            root = groups(items)
            req = {root[i] for i, g in enumerate(items) if not items[root[i]].get("optional")}
            pairs = _pairs(preds, items, fits, lambda g, p, right=right: int(right(g, p)))
            neutral = sum(root[gi] not in req for gi in pairs.values())
            hits = [(pi, gi) for pi, gi in pairs.items() if root[gi] in req and right(items[gi], preds[pi])]
            counts[0] += len(hits)
            counts[1] += len(preds) - neutral
            counts[2] += len({root[gi] for _, gi in hits})
            counts[3] += len(req)

    def f1(c: list[int]) -> float:
        p = c[0] / c[1] if c[1] else 1.0
        r = c[2] / c[3] if c[3] else 1.0
        return round(2 * p * r / (p + r), 3) if p + r else 0.0

    return {"full_match_f1": f1(full), "figure_f1": f1(fig), "event_with_date_f1": f1(ev)}


# --- 4. the audit ----------------------------------------------------------------------------------------


def audit(config_path: Path, data_dir: Path, articles: list[dict[str, Any]], quiet: bool) -> dict[str, Any]:
    from storage import TinyStore

    async def run() -> dict[str, Any]:
        store = await TinyStore.open(data_dir)
        try:
            config = load_config(config_path)
            briefing = Briefing(store, config)
            stored = store.facts()
            facts = {f.id: f for f in stored}
            gold = Gold(articles)
            lines = derived = lines_right = derived_right = 0
            for topic in config.topics:
                answer: Answer = briefing.casualties(topic.id, since=_FOREVER)
                if not quiet:
                    print(render_text(answer))
                for section in answer.sections:
                    for line in section.lines:
                        is_range = isinstance(line.segments[0], str) and line.segments[0].startswith("Range —")
                        is_revision = line.detail.startswith(("raised from", "lowered from"))
                        if is_range or is_revision:
                            kind = "range" if is_range else "revision"
                            basis = getattr(line, "basis", ())  # a derived line records its evidence
                            ok, why = judge_derived(line, facts, gold, kind) if basis else (False, "no evidence")
                            derived += 1
                            derived_right += ok
                            if not ok:
                                print(f"WRONG {kind} [{topic.id}] {_text(line)} {line.detail} — {why}")
                        if is_range:
                            continue  # a range line is not a claim line
                        right, why = judge_line(line, facts, gold)
                        if right is None:
                            continue
                        lines += 1
                        lines_right += right
                        if not right:
                            print(f"WRONG claim [{topic.id}] {_text(line)} — {why}")
            scores = score_facts(stored, gold, articles)
            return {"claim_lines": lines, "claim_line_precision": round(lines_right / lines, 3) if lines else None,
                    "derived_statements": derived,
                    "derived_precision": round(derived_right / derived, 3) if derived else None, **scores}
        finally:
            await store.close()

    return asyncio.run(run())


def _text(line: Line) -> str:
    return "".join(s if isinstance(s, str) else (f"[{s.fact_id}]" if isinstance(s, Ref) else
                                                   s.outlet if isinstance(s, Source) else s.iso)
                   for s in line.segments)


_FOREVER = __import__("datetime").timedelta(days=365 * 30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--split", default="dev", choices=("dev", "heldout", "heldout2"))
    parser.add_argument("--quiet", action="store_true", help="print only the wrong lines and the result")
    parser.add_argument("--quick", action="store_true", help="the split's first 12 articles")
    args = parser.parse_args()
    articles = load(args.split)[:12 if args.quick else None]
    with tempfile.TemporaryDirectory(prefix="sitrep-audit-") as tmp:
        work = Path(tmp)
        config = asyncio.run(poll(articles, work))
        result = audit(config, work / "data", articles, args.quiet)
    print(f"audit ({args.split}): {len(articles)} articles, {result['claim_lines']} claim lines judged, "
          f"{result['derived_statements']} derived statements")
    print(json.dumps({"split": args.split, **result, "date": date.today().isoformat()}))


if __name__ == "__main__":
    main()
