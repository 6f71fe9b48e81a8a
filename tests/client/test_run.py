"""`python -m bot run`: the token comes from the environment only and never reaches a log."""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.client import PERMISSIONS, invite_url
from bot.client.command import RedactToken, shard_options
from bot.errors import ConfigError

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


def _run_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["run", *argv])


def test_shard_flags_and_variables_choose_the_shards_flags_winning() -> None:
    assert shard_options(_run_args(), {}) == {}  # as before: Discord's count, every shard in this process
    assert shard_options(_run_args("--shard-ids", "0,1", "--shard-count", "4"), {}) == {
        "shard_ids": [0, 1], "shard_count": 4}
    env = {"SITREP_SHARD_IDS": "2, 3", "SITREP_SHARD_COUNT": "4"}
    assert shard_options(_run_args(), env) == {"shard_ids": [2, 3], "shard_count": 4}
    assert shard_options(_run_args("--shard-ids", "1"), env) == {"shard_ids": [1], "shard_count": 4}
    assert shard_options(_run_args("--shard-count", "2"), {"SITREP_SHARD_COUNT": "8"}) == {"shard_count": 2}
    assert shard_options(_run_args(), {"SITREP_SHARD_IDS": "", "SITREP_SHARD_COUNT": " "}) == {}


@pytest.mark.parametrize(("argv", "env", "message"), [
    (("--shard-ids", "0,4", "--shard-count", "4"), {}, "--shard-ids: shard 4 does not exist: with 4 shards the ids "
                                                       "run from 0 to 3"),
    (("--shard-ids", "-1", "--shard-count", "4"), {}, "--shard-ids: shard -1 does not exist"),
    (("--shard-ids", "0,1"), {}, "--shard-ids: needs the total number of shards too"),
    ((), {"SITREP_SHARD_IDS": "0"}, "SITREP_SHARD_IDS: needs the total number of shards too"),
    (("--shard-count", "0"), {}, "--shard-count: must be at least 1, not 0"),
    (("--shard-count", "four"), {}, "--shard-count: 'four' is not a whole number of shards"),
    ((), {"SITREP_SHARD_COUNT": "2", "SITREP_SHARD_IDS": "0;1"}, "SITREP_SHARD_IDS: '0;1' is not a comma-separated"),
    (("--shard-ids", "1,1", "--shard-count", "2"), {}, "--shard-ids: shard 1 is listed twice"),
])
def test_bad_shard_options_name_the_option_and_the_problem(argv: tuple[str, ...], env: dict[str, str],
                                                           message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        shard_options(_run_args(*argv), env)
    assert str(raised.value).startswith(message)


def test_run_with_a_shard_id_outside_the_count_says_so_in_one_line_before_asking_for_a_token() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "SITREP_SHARD_IDS", "SITREP_SHARD_COUNT")}
    result = subprocess.run([sys.executable, "-m", "bot", "run", "--shard-ids", "0,4", "--shard-count", "4"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip() == ("error: --shard-ids: shard 4 does not exist: with 4 shards the ids run from "
                                     "0 to 3")
