"""Entry point of `python -m bot ask` (not built yet)."""

from __future__ import annotations

import argparse

from bot.config import Config
from bot.errors import NotYetAvailable


def run_ask(args: argparse.Namespace, config: Config | None) -> int:
    raise NotYetAvailable("ask is not yet available in this version of Sitrep")
