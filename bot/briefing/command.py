"""`python -m bot ask casualties|timeline|brief|fact|search|sources|digest`: an answer, as text."""

from __future__ import annotations

import argparse
import asyncio

from bot.briefing import Answer, Briefing, render_text
from bot.config import Config
from bot.durations import parse_duration
from bot.errors import BadOption


def run_ask(args: argparse.Namespace, config: Config) -> int:
    print(asyncio.run(_answer(args, config)))
    return 0


async def _answer(args: argparse.Namespace, config: Config) -> str:
    from storage import Store

    # Read-only: never blocked by the writer lock of a running bot or poller, and never writes.
    store = await Store.open(config.data_dir, read_only=True, hot_weeks=config.storage.hot_weeks)
    try:
        return render_text(answer_for(args, Briefing(store, config)))
    finally:
        await store.close()


def answer_for(args: argparse.Namespace, briefing: Briefing) -> Answer:
    q = args.question
    if q == "casualties":
        return briefing.casualties(args.topic, since=_duration(args.since, "--since"), side=args.side,
                                   claimant=args.claimant, category=args.category)
    if q == "timeline":
        return briefing.timeline(args.topic, date_from=args.date_from, date_to=args.date_to,
                                 newest_first=args.newest_first)
    if q == "brief":
        return briefing.brief(args.topic)
    if q == "fact":
        return briefing.fact(args.fact_id)
    if q == "search":
        return briefing.search(" ".join(args.words), topic=args.topic)
    if q == "sources":
        return briefing.sources()
    return briefing.digest(None, since=_duration(args.since, "--since"))


def _duration(text: str | None, option: str):  # type: ignore[no-untyped-def]
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise BadOption(f"{option}: {exc}") from None
