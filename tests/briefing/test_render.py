"""Property tests: any answer fits Discord's limits, and no feed text can produce a mention."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.briefing import embed_size, render_embeds, render_text
from bot.briefing._casualties import build_casualties
from bot.briefing._render import (
    DESCRIPTION_MAX,
    EMBEDS_PER_MESSAGE,
    FOOTER_MAX,
    MESSAGE_TOTAL_MAX,
    TITLE_MAX,
)
from bot.briefing._views import build_search, build_timeline
from bot.model import ArticleRef, Casualty, Event, StoredFact

pieces = st.sampled_from(["@everyone", "@here", "<@123>", "<@&9>", "<#5>", "x" * 50, "**bold**", "a", " ", "\n",
                          "é", "—", "@", "<", ">", "#", "&", "\\", "`", "|", "[", "]"])
texts = st.lists(pieces, max_size=60).map("".join) | st.text(max_size=300)


@st.composite
def stored_facts(draw: st.DrawFn) -> list[StoredFact]:
    n = draw(st.integers(0, 120))
    out = []
    for i in range(n):
        title, outlet, quote = draw(texts), draw(texts) or "Outlet", draw(texts) or "q"
        if draw(st.booleans()):
            f: Casualty | Event = Casualty(category="killed", count=draw(st.one_of(st.none(), st.integers(0, 10**7))),
                                           qualifier="exact", quote=quote, victim=draw(texts) or None,
                                           victim_text=draw(texts) or None, claimant=draw(texts) or None)
        else:
            f = Event(summary=draw(texts) or "s", quote=quote, date=f"2025-{draw(st.integers(1, 12)):02d}-01",
                      date_precision="day")
        published = datetime(2025, 1, 1, tzinfo=UTC)
        out.append(StoredFact(id=f"id{i:08d}", seq=i + 1, fact=f, topics=("t",), stored_at=published,
                              article=ArticleRef(f"https://x.test/{i}", outlet, title, published)))
    return out


MENTION = re.compile(r"@everyone|@here|<@[!&]?\d+>|<#\d+>")


def _check(pages: list[list[dict]]) -> None:
    assert pages
    for page in pages:
        assert 1 <= len(page) <= EMBEDS_PER_MESSAGE
        assert sum(embed_size(e) for e in page) <= MESSAGE_TOTAL_MAX
        for embed in page:
            assert len(embed["title"]) <= TITLE_MAX
            assert len(embed["description"]) <= DESCRIPTION_MAX
            assert len(embed.get("footer", {}).get("text", "")) <= FOOTER_MAX
            for text in (embed["title"], embed["description"], embed.get("footer", {}).get("text", "")):
                assert not MENTION.search(text), text


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(stored_facts(), texts)
def test_any_answer_renders_within_discord_limits_and_cannot_ping(facts: list[StoredFact], topic: str) -> None:
    topic = topic or "t"
    for answer in (build_casualties(facts, topic_name=topic, window="w"), build_timeline(facts, topic_name=topic),
                   build_search(facts, words=topic)):
        _check(render_embeds(answer))
        render_text(answer)  # never raises


def test_long_answers_are_paged_not_cut() -> None:
    published = datetime(2025, 1, 1, tzinfo=UTC)
    facts = [StoredFact(id=f"id{i:08d}", seq=i, topics=("t",), stored_at=published,
                        article=ArticleRef(f"https://x.test/{i}", "Wire", "T", published),
                        fact=Event(summary=f"event number {i} " + "word " * 30, quote="q",
                                   date=(date(2025, 1, 1) + timedelta(days=i)).isoformat(), date_precision="day"))
             for i in range(200)]
    pages = render_embeds(build_timeline(facts, topic_name="t"))
    assert len(pages) > 1
    _check(pages)
    joined = "\n".join(p[0]["description"] for p in pages)
    assert all(f"event number {i} " in joined for i in range(200))  # every line is on some page
