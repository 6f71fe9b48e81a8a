"""`python -m bot extract PATH|- [--published ISO] [--title T] [--url U] [--format jsonl|text]`."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bot.config import Config
from bot.errors import BadOption
from bot.extract import Extractor
from bot.model import Casualty, Fact, Territory


def run_extract(args: argparse.Namespace, config: Config | None) -> int:
    published = parse_published(args.published) if args.published else None
    text = _read(args.path)
    extractor = Extractor(actors=config.actors if config else None, places=config.places if config else None)
    facts = extractor.extract(text, published=published, title=args.title)
    out = sys.stdout
    for fact in facts:
        if args.format == "jsonl":
            out.write(json.dumps(fact_json(fact), ensure_ascii=False) + "\n")
        else:
            out.write(fact_line(fact) + "\n")
    if args.format == "text" and not facts:
        out.write("no facts found\n")
    return 0


def parse_published(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadOption(f"--published: {text!r} is not an ISO date or time (e.g. 2025-10-12 or "
                        f"2025-10-12T08:30:00+05:00)") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise BadOption(f"cannot read {path}: {exc.strerror or exc}") from None


def fact_json(fact: Fact) -> dict[str, object]:
    data = asdict(fact)
    data["kind"] = fact.kind
    if "actors" in data:
        data["actors"] = list(data["actors"])
    if fact.kind == "territory":  # the contract's names; `from` is a Python keyword, hence by_side/from_side
        data["by"], data["from"] = data.pop("by_side"), data.pop("from_side")
    return data


def fact_line(fact: Fact) -> str:
    """One readable line per fact, for people."""
    if isinstance(fact, Casualty):
        figure = _figure(fact.count, fact.count_high, fact.qualifier)
        who = fact.victim_text or fact.victim or "people"
        claim = f"per {fact.claimant_text or fact.claimant}" if (fact.claimant or fact.claimant_text) \
            else "stated by the outlet"
        flags = "".join([" [cumulative]" if fact.cumulative else "", " [subset]" if fact.breakdown else ""])
        when = f" on {fact.date}" if fact.date else ""
        return f"casualty  {figure} {who} {fact.category}{when}, {claim}{flags}  «{fact.quote}»"
    if isinstance(fact, Territory):
        figure = _figure(fact.count, fact.count_high, fact.qualifier)
        sides = "".join([f" by {fact.by_side}" if fact.by_side else "", f" from {fact.from_side}" if fact.from_side
                         else ""])
        claim = f"per {fact.claimant_text or fact.claimant}" if fact.claimant or fact.claimant_text \
            else "stated by the outlet"
        when = f" on {fact.date}" if fact.date else ""
        return f"territory {figure} {fact.object} {fact.action}{sides}{when}, {claim}  «{fact.quote}»"
    when = fact.date or "undated"
    return f"event     {when} ({fact.date_precision or '-'})  {fact.summary}"


def _figure(count: int | None, high: int | None, qualifier: str) -> str:
    if qualifier == "vague" or count is None:
        return "an unstated number of"
    words = {"at_least": "at least ", "more_than": "more than ", "about": "about ", "up_to": "up to ",
             "fewer_than": "fewer than "}
    if qualifier == "range" and high is not None:
        return f"{count:,}–{high:,}"
    return f"{words.get(qualifier, '')}{count:,}"
