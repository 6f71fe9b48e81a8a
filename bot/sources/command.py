"""Entry point of `python -m bot poll` (not built yet)."""

from __future__ import annotations

import argparse

from bot.config import Config
from bot.errors import NotYetAvailable


def run_poll(args: argparse.Namespace, config: Config | None) -> int:
    raise NotYetAvailable("polling is not yet available in this version of Sitrep")
