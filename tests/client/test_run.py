"""`python -m bot run`: the token comes from the environment only and never reaches a log."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from bot.client import PERMISSIONS, invite_url
from bot.client.command import RedactToken

ROOT = Path(__file__).resolve().parents[2]


def test_run_without_a_token_says_so_in_one_line() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DISCORD_TOKEN"}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True, text=True, cwd=ROOT,
                            env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: DISCORD_TOKEN: is not set")
    assert "Traceback" not in result.stderr


def test_the_token_is_redacted_from_every_log_record(caplog) -> None:  # type: ignore[no-untyped-def]
    token = "MTIzNDU2Nzg5.secret-part.abc"
    logger = logging.getLogger("sitrep.test")
    handler = logging.StreamHandler()
    handler.addFilter(RedactToken(token))
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        logger.warning("connecting with %s", token)
        logger.warning(f"header Authorization: Bot {token}")
    finally:
        logger.removeHandler(handler)
    assert records and all(token not in r and "[redacted]" in r for r in records)


def test_invite_url_asks_for_exactly_what_the_bot_needs() -> None:
    url = invite_url(1234)
    assert "scope=bot+applications.commands" in url
    assert f"permissions={PERMISSIONS.value}" in url
    assert PERMISSIONS.view_channel and PERMISSIONS.send_messages and PERMISSIONS.embed_links
    assert PERMISSIONS.send_messages_in_threads and PERMISSIONS.create_public_threads  # alert follow-ups
    assert PERMISSIONS.attach_files  # the digest's chart
    assert PERMISSIONS.value == (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 35) | (1 << 38)
