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


def test_a_month_with_many_later_reports_still_shows_its_own_events(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A range reads the articles published up to 90 days after it (late reports), but its own weeks first: when
    the later weeks alone hold more than the answer's limit, the month's events are still the ones shown."""
    import bot.briefing._service

    monkeypatch.setattr(bot.briefing._service, "FACT_LIMIT", 4)
    month = datetime(NOW.year - 1, NOW.month, 1, tzinfo=UTC)
    items = [ArticleFacts(article(f"https://w/m{i}", published=month + timedelta(days=3 + 7 * i), topics=("sudan",)),
                          (event(f"Shelling of Monthtown {i}", date=f"{month + timedelta(days=3 + 7 * i):%Y-%m-%d}"),))
             for i in range(3)]
    items += [ArticleFacts(article(f"https://w/l{i}", published=month + timedelta(days=40 + 5 * i), topics=("sudan",)),
                           (event(f"Raid on Latertown {i}", date=f"{month + timedelta(days=40 + 5 * i):%Y-%m-%d}"),))
              for i in range(8)]
    store = TinyStore.open_sync(tmp_path, hot_weeks=4)
    store.commit_sync(Batch(articles=tuple(items)))
    briefing = Briefing(store, parse_config({"topics": [{"id": "sudan", "keywords": ["sudan"]}]}))
    text = render_text(briefing.timeline("sudan", date_from=f"{month:%Y-%m}", date_to=f"{month:%Y-%m}"))
    assert all(f"Monthtown {i}" in text for i in range(3)) and "Latertown" not in text
