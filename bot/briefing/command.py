"""`python -m bot ask casualties|territory|incident|timeline|brief|fact|search|sources|digest`: an answer, as
text; and `python -m bot export`: every claim as CSV or JSON rows.

`ask casualties --chart PATH` also writes the chart the bot attaches to `/casualties chart:true`, the same
PNG for the same facts; `ask map --topic T --output PATH` the map of /map.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bot.briefing import (
    Answer,
    Briefing,
    ChartData,
    MapData,
    map_answer,
    render_chart,
    render_export,
    render_map,
    render_text,
)
from bot.config import Config
from bot.durations import parse_duration
from bot.errors import BadOption


def run_ask(args: argparse.Namespace, config: Config) -> int:
    option = "--output" if args.question == "map" else "--chart"
    path: Path | None = getattr(args, "output" if args.question == "map" else "chart", None)
    if path is not None and not path.parent.is_dir():
        raise BadOption(f"{option}: no directory {path.parent}")
    text, chart = asyncio.run(_answer(args, config))
    print(text)
    if chart is not None and path is not None:
        write_chart(path, render_map(chart) if isinstance(chart, MapData) else render_chart(chart), option)
        width, height = chart.size
        print(f"{'map' if isinstance(chart, MapData) else 'chart'}: {path} ({width}×{height} px)", file=sys.stderr)
    return 0


def write_chart(path: Path, png: bytes, option: str = "--chart") -> None:
    try:
        path.write_bytes(png)
    except OSError as exc:
        raise BadOption(f"{option}: cannot write {path}: {exc.strerror or exc}") from None


async def _answer(args: argparse.Namespace, config: Config) -> tuple[str, ChartData | MapData | None]:
    from storage import open_store

    # Read-only: never blocked by the writer lock of a running bot or poller, and never writes.
    store = await open_store(config, read_only=True)
    try:
        briefing = Briefing(store, config)
        if args.question == "map":
            data = briefing.map(args.topic, since=_duration(args.since, "--since"))
            return render_text(map_answer(data)), data
        text = render_text(answer_for(args, briefing))
        chart = chart_for(args, briefing) if getattr(args, "chart", None) is not None else None
        return text, chart
    finally:
        await store.close()


def chart_for(args: argparse.Namespace, briefing: Briefing) -> ChartData:
    return briefing.casualties_chart(args.topic, since=_duration(args.since, "--since"), side=args.side,
                                     claimant=args.claimant, category=args.category)


def run_export(args: argparse.Namespace, config: Config) -> int:
    data, summary = asyncio.run(_export(args, config))
    if args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        try:
            args.output.write_bytes(data)
        except OSError as exc:
            raise BadOption(f"--output: cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {args.output}: {summary}", file=sys.stderr)
    return 0


async def _export(args: argparse.Namespace, config: Config) -> tuple[bytes, str]:
    from storage import open_store

    store = await open_store(config, read_only=True)  # export only reads
    try:
        export = Briefing(store, config).export(args.topic, since=args.since)
        return render_export(export, args.format), export.summary()
    finally:
        await store.close()


def answer_for(args: argparse.Namespace, briefing: Briefing) -> Answer:
    q = args.question
    if q == "casualties":
        return briefing.casualties(args.topic, since=_duration(args.since, "--since"), side=args.side,
                                   claimant=args.claimant, category=args.category)
    if q == "incident":
        if args.incident_id:
            return briefing.incident(args.incident_id, topic=args.topic)
        return briefing.incidents(args.topic)
    if q == "territory":
        return briefing.territory(args.topic, since=_duration(args.since, "--since"))
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
