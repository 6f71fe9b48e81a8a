"""Which facts an answer reads: the loaded weeks by default, an old date range from disk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.briefing import Briefing, render_text
from bot.config import parse_config
from bot.errors import BadOption
from storage import ArticleFacts, Batch, TinyStore
from tests.storage._helpers import article, event

NOW = datetime.now(UTC)


def _briefing(tmp_path: Path) -> Briefing:
    store = TinyStore.open_sync(tmp_path, hot_weeks=4)
    old, recent = NOW - timedelta(days=400), NOW - timedelta(days=2)
    store.commit_sync(Batch(articles=(
        ArticleFacts(article("https://w/old", published=old, topics=("sudan",)),
                     (event("Siege of Oldtown begins", date=f"{old:%Y-%m-%d}"),)),
        ArticleFacts(article("https://w/quiet", published=old, topics=("quiet",)),
                     (event("Quiet border incident", date=f"{old:%Y-%m-%d}"),)),
        ArticleFacts(article("https://w/new", published=recent, topics=("sudan",)),
                     (event("Talks in Newtown", date=f"{recent:%Y-%m-%d}"),)),
    )))
    config = parse_config({"topics": [{"id": "sudan", "keywords": ["sudan"]}, {"id": "quiet", "keywords": ["q"]}]})
    return Briefing(TinyStore.open_sync(tmp_path, hot_weeks=4), config)


def test_timeline_without_range_shows_the_loaded_weeks_and_a_range_reads_history(tmp_path: Path) -> None:
    briefing = _briefing(tmp_path)
    recent = render_text(briefing.timeline("sudan"))
    assert "Newtown" in recent and "Oldtown" not in recent
    old = NOW - timedelta(days=400)
    assert briefing.timeline_reads_disk("sudan", date_from=f"{old:%Y-%m}", date_to=f"{old:%Y-%m}")
    ranged = render_text(briefing.timeline("sudan", date_from=f"{old:%Y-%m}", date_to=f"{old:%Y-%m}"))
    assert "Oldtown" in ranged and "Newtown" not in ranged


def test_a_quiet_topic_still_shows_its_last_lines(tmp_path: Path) -> None:
    briefing = _briefing(tmp_path)
    assert briefing.timeline_reads_disk("quiet")  # nothing in the loaded weeks: it reads history
    assert "Quiet border incident" in render_text(briefing.timeline("quiet"))
    assert "Quiet border incident" in render_text(briefing.brief("quiet"))


def test_a_bad_range_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(BadOption, match="YYYY"):
        _briefing(tmp_path).timeline_reads_disk("sudan", date_from="last tuesday")
