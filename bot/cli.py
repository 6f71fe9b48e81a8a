"""The command line, a stable contract (../shared/design.md): run, demo, poll, extract, ask, export, migrate.

This module only parses arguments, loads the config and hands over to one entry point per command. Each
entry point is imported lazily, so `--help` is instant and a command never pays for another's imports.
Errors a user can fix (``SitrepError``) print one line and exit with status 2; anything else is a bug and
keeps its traceback. A reader that goes away (`| head`) ends the command quietly, with status 0.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import SitrepError

if TYPE_CHECKING:
    from bot.config import Config

# command → "module:function"; each function takes (args, config) and returns the exit status.
ENTRY_POINTS = {
    "run": "bot.client.command:run_bot",
    "demo": "bot.demo:run_demo",
    "poll": "bot.sources.command:run_poll",
    "extract": "bot.extract.command:run_extract",
    "ask": "bot.briefing.command:run_ask",
    "export": "bot.briefing.command:run_export",
    "migrate": "bot.migrate:run_migrate",
}
# Commands that can work without a config file (extract reads one article; it only uses actor aliases).
CONFIG_OPTIONAL = {"extract"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Sitrep: conflict news turned into sourced, checkable facts.",
    )
    parser.add_argument("--config", type=Path, default=Path("config.toml"), metavar="PATH",
                        help="configuration file (default: config.toml)")
    parser.add_argument("--data-dir", type=Path, metavar="DIR",
                        help="use this data directory instead of the configured one")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run the Discord bot: polling, slash commands, digests (needs DISCORD_TOKEN)")
    run.add_argument("--shard-ids", metavar="IDS",
                     help="run only these shards, e.g. 0,1 (needs --shard-count; env SITREP_SHARD_IDS)")
    run.add_argument("--shard-count", metavar="N",
                     help="the bot's total number of shards (env SITREP_SHARD_COUNT; default: Discord's advice, "
                          "all run here)")

    commands.add_parser("demo", help="serve the bundled sample sources on loopback, poll them and show the "
                                     "answers (no token, no internet)")

    poll = commands.add_parser("poll", help="poll the configured sources and store facts, without Discord")
    poll.add_argument("--once", action="store_true", help="run one cycle, print a summary and exit")

    extract = commands.add_parser("extract", help="extract facts from one article and print them")
    extract.add_argument("path", metavar="PATH", help="plain text or HTML file; '-' reads standard input")
    extract.add_argument("--published", metavar="ISO", help="publication time; anchors relative dates")
    extract.add_argument("--title", metavar="T", help="the article's title")
    extract.add_argument("--url", metavar="U", help="the article's URL")
    extract.add_argument("--format", choices=("jsonl", "text"), default="text",
                         help="jsonl: one JSON object per fact; text: one readable line per fact")

    ask = commands.add_parser("ask", help="answer a slash command from the store, as text")
    questions = ask.add_subparsers(dest="question", metavar="QUESTION", required=True)
    casualties = questions.add_parser("casualties", help="casualty figures with who claims them")
    casualties.add_argument("--topic", metavar="T")
    casualties.add_argument("--since", metavar="DURATION", help="e.g. 7d, 48h (default: all)")
    casualties.add_argument("--side", metavar="S", help="whose casualties (victim side)")
    casualties.add_argument("--claimant", metavar="C", help="who claims them")
    casualties.add_argument("--category", metavar="CAT",
                            help="killed, injured, captured, missing, arrested or displaced")
    casualties.add_argument("--chart", type=Path, metavar="PATH",
                            help="also write the chart (each claimant's figures over time) to PATH as a PNG")
    territory = questions.add_parser("territory", help="claims about places taken, lost or destroyed")
    territory.add_argument("--topic", metavar="T")
    territory.add_argument("--since", metavar="DURATION", help="e.g. 7d, 48h (default: 30d)")
    incident = questions.add_parser("incident", help="one incident's claims side by side (no id: the list)")
    incident.add_argument("incident_id", nargs="?", metavar="ID")
    incident.add_argument("--topic", metavar="T")
    timeline = questions.add_parser("timeline", help="dated events in order")
    timeline.add_argument("--topic", metavar="T")
    timeline.add_argument("--from", dest="date_from", metavar="DATE", help="YYYY-MM-DD, YYYY-MM or YYYY")
    timeline.add_argument("--to", dest="date_to", metavar="DATE", help="YYYY-MM-DD, YYYY-MM or YYYY")
    timeline.add_argument("--newest-first", action="store_true")
    map_ = questions.add_parser("map", help="the topic's incidents on a map (PNG), each at its place")
    map_.add_argument("--topic", metavar="T")
    map_.add_argument("--since", metavar="DURATION", help="e.g. 7d (default: 30d)")
    map_.add_argument("--output", type=Path, metavar="PATH", help="write the map to PATH as a PNG")
    brief = questions.add_parser("brief", help="the latest picture of a topic in a few lines")
    brief.add_argument("--topic", metavar="T")
    fact = questions.add_parser("fact", help="a fact's provenance: quote, article, outlet, link")
    fact.add_argument("fact_id", metavar="ID")
    search = questions.add_parser("search", help="search facts and events by words")
    search.add_argument("words", nargs="+", metavar="WORDS")
    search.add_argument("--topic", metavar="T")
    questions.add_parser("sources", help="each source's health")
    digest = questions.add_parser("digest", help="what a digest would post now")
    digest.add_argument("--since", metavar="DURATION", help="cover this long instead of since the last digest")
    digest.add_argument("--topic", metavar="T")

    export = commands.add_parser("export", help="one row per casualty and territory claim, as CSV or JSON")
    export.add_argument("--topic", metavar="T", help="topic id or name (default: the only one, or all)")
    export.add_argument("--since", metavar="D", help="published since a duration ago (7d, 48h) or a date "
                                                     "(YYYY, YYYY-MM, YYYY-MM-DD); default: everything stored")
    export.add_argument("--format", choices=("csv", "json"), default="csv",
                        help="csv: UTF-8 with BOM, spreadsheet-safe (default); json: a list of objects")
    export.add_argument("--output", type=Path, metavar="PATH", help="write here instead of standard output")

    migrate = commands.add_parser("migrate", help="copy the whole store to the other driver (TinyDB → PostgreSQL "
                                                  "or back) into an empty target, then verify the copy")
    migrate.add_argument("--to", required=True, choices=("postgres", "tinydb"),
                         help="postgres: from the TinyDB data directory into SITREP_DATABASE_URL; tinydb: from "
                              "SITREP_DATABASE_URL into a new TinyDB store in DIR")
    migrate.add_argument("target_dir", nargs="?", type=Path, metavar="DIR", help="--to tinydb: the new store's "
                                                                                  "data directory")
    migrate.add_argument("--from-data-dir", type=Path, metavar="DIR",
                         help="--to postgres: copy this TinyDB data directory (default: the configured one)")
    migrate.add_argument("--schema", metavar="NAME",
                         help="the PostgreSQL schema (default: config.toml's [storage] schema)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        config = _load_config(args)
        module_name, function_name = ENTRY_POINTS[args.command].split(":")
        entry = getattr(importlib.import_module(module_name), function_name)
        status = int(entry(args, config))
        sys.stdout.flush()  # a reader that went away is found here, not in the interpreter's exit
        return status
    except BrokenPipeError:
        # The reader closed the pipe (`| head`): it has what it wanted. Nothing more can be written; point
        # standard output at /dev/null so the interpreter's own flush at exit does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except SitrepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        return 130


def _load_config(args: argparse.Namespace) -> Config | None:
    from bot.config import load_config

    if args.command in CONFIG_OPTIONAL and not args.config.exists():
        return None
    return load_config(args.config, data_dir=args.data_dir)
