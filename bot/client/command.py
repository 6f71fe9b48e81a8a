"""Entry point of `python -m bot run` (not built yet)."""

from __future__ import annotations

import argparse

from bot.config import Config
from bot.errors import NotYetAvailable


def run_bot(args: argparse.Namespace, config: Config | None) -> int:
    raise NotYetAvailable("the Discord bot is not yet available in this version of Sitrep")
