"""Golden tests on a small hand-built set of facts: what a user is told, and what they are never told."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.briefing import render_text
from bot.briefing._casualties import build_casualties
from bot.briefing._views import build_timeline, parse_date_bound
from bot.errors import BadOption
from bot.model import ArticleRef, Casualty, Event, StoredFact

_seq = iter(range(1, 10_000))


def fact(f: Casualty | Event, outlet: str = "Wire", day: int = 12, hour: int = 8, story: str | None = None,
         topics: tuple[str, ...] = ("pak-afg",), url: str | None = None) -> StoredFact:
    seq = next(_seq)
    published = datetime(2025, 10, day, hour, tzinfo=UTC)
    return StoredFact(id=f"id{seq:07d}", seq=seq, fact=f, topics=topics, stored_at=published, story_id=story,
                      article=ArticleRef(url or f"https://{outlet.lower()}.test/{seq}", outlet, f"Story {seq}",
                                         published))


def killed(count: int | None, victim: str, claimant: str | None, qualifier: str = "exact", date: str | None = None,
           **kw: object) -> Casualty:
    return Casualty(category="killed", count=count, qualifier=qualifier, victim=victim,  # type: ignore[arg-type]
                    victim_text=kw.pop("victim_text", None) or f"{victim} soldiers", claimant=claimant,
                    quote=f"{count} were killed, {claimant} said", date=date, **kw)  # type: ignore[arg-type]


def casualties_text(facts: list[StoredFact]) -> str:
    newest_first = sorted(facts, key=lambda f: f.article.published, reverse=True)
    return render_text(build_casualties(newest_first, topic_name="Border", window="in the last 30d"))


def test_the_same_claim_from_several_outlets_is_one_line_with_its_sources() -> None:
    text = casualties_text([fact(killed(58, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11"), outlet=o,
                                 story="s1") for o in ("Al Jazeera", "Dawn", "Reuters")])
    assert text.count("58 Pakistan soldiers killed") == 1
    assert "+2 outlets" in text


def test_contested_claims_stay_apart_and_are_never_summed() -> None:
    text = casualties_text([
        fact(killed(200, "Afghanistan (Taliban)", "Pakistan", "more_than", "2025-10-11",
                    victim_text="Taliban fighters"), story="s1"),
        fact(killed(9, "Afghanistan (Taliban)", "Afghanistan (Taliban)", date="2025-10-11",
                    victim_text="its fighters"), story="s1"),
    ])
    assert "more than 200 Taliban fighters killed — claimed by Pakistan" in text
    assert "9 fighters (Afghanistan (Taliban)) killed — admitted by Afghanistan (Taliban)" in text
    assert "209" not in text and "104" not in text  # no sum, no average
    assert "Range — Afghanistan (Taliban) killed, 11 Oct: 9 (Afghanistan (Taliban)) to more than 200 (Pakistan)" in text


def test_a_claimant_revising_its_own_figure_shows_the_latest_and_the_change() -> None:
    text = casualties_text([
        fact(killed(12, "Pakistan", "Pakistan", "at_least", "2025-10-11"), day=12, story="s1"),
        fact(killed(23, "Pakistan", "Pakistan", "at_least", "2025-10-11"), day=13, story="s1"),
    ])
    assert "at least 23 Pakistan soldiers killed — admitted by Pakistan" in text
    assert "raised from at least 12 to at least 23 on 13 Oct" in text
    assert "at least 12 Pakistan soldiers" not in text


def test_figures_for_different_incidents_are_not_put_in_one_range() -> None:
    text = casualties_text([
        fact(killed(5, "Pakistan", "Pakistan", date="2025-10-01"), day=2),
        fact(killed(40, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11"), day=12),
    ])
    assert "Range" not in text
    assert "45" not in text


def test_no_revision_without_a_later_report_of_the_same_incident() -> None:
    same_article = "https://wire.test/one"
    text = casualties_text([  # one claimant, two groups in one article: side by side, nothing derived
        fact(killed(150, "Pakistan", "Pakistan", date="2025-10-11"), url=same_article, story="s1"),
        fact(killed(1300, "Pakistan", "Pakistan", date="2025-10-11", victim_text="people"), url=same_article,
             story="s1"),
    ])
    assert "raised" not in text and "lowered" not in text
    assert "150 Pakistan soldiers" in text and "1,300 people" in text
    text = casualties_text([  # a later report, but no shared story and no place: not the same incident
        fact(killed(12, "Pakistan", "Pakistan", date="2025-10-11"), day=12),
        fact(killed(23, "Pakistan", "Pakistan", date="2025-10-11"), day=13),
    ])
    assert "raised" not in text


def test_contested_figures_of_two_claimants_are_never_a_revision() -> None:
    text = casualties_text([
        fact(killed(12, "Pakistan", "Pakistan", date="2025-10-11"), day=12, story="s1"),
        fact(killed(25, "Pakistan", "Pakistani Taliban (TTP)", date="2025-10-11"), day=13, story="s1"),
    ])
    assert "raised" not in text
    assert "12 Pakistan soldiers killed — admitted by Pakistan" in text
    assert "25 Pakistan soldiers killed — claimed by Pakistani Taliban (TTP)" in text


def test_a_lower_later_figure_reads_lowered() -> None:
    text = casualties_text([
        fact(killed(30, "Pakistan", "Pakistan", date="2025-10-11"), day=12, story="s1"),
        fact(killed(23, "Pakistan", "Pakistan", date="2025-10-11"), day=13, story="s1"),
    ])
    assert "lowered from 30 to 23 on 13 Oct" in text


def test_no_range_without_a_known_side_or_across_topics() -> None:
    unknown = [fact(Casualty(category="killed", count=n, qualifier="exact", quote=f"{n} people were killed",
                             victim_text="people", claimant=claimant, date="2025-10-09"), story="s1")
               for n, claimant in ((5, "police"), (9, "residents"))]
    text = casualties_text(unknown)
    assert "Range" not in text
    assert "side not stated" in text
    other_war = [fact(killed(5, "Pakistan", "Pakistan", date="2025-10-11"), story="s1"),
                 fact(killed(40, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11"), story="s1",
                      topics=("sudan",))]
    assert "Range" not in casualties_text(other_war)


def test_a_health_ministry_count_is_not_an_admission_and_keeps_its_name() -> None:
    c = Casualty(category="killed", count=31, qualifier="exact", quote="q", victim="Lebanon", victim_text="people",
                 claimant="Lebanon", claimant_text="Lebanon's health ministry")
    text = casualties_text([fact(c)])
    assert "31 people killed — claimed by Lebanon's health ministry" in text
    assert "admitted" not in text


def test_unattributed_figures_are_marked_as_reported_by_the_outlet() -> None:
    text = casualties_text([fact(killed(7, "Pakistan", None), outlet="Dawn")])
    assert "reported by Dawn" in text


def test_totals_and_subsets_are_flagged_not_added() -> None:
    text = casualties_text([
        fact(killed(400, "civilians", None, cumulative=True, victim_text="civilians")),
        fact(killed(2, "Pakistan", "Pakistan", breakdown=True, victim_text="commanders")),
    ])
    assert "400 civilians killed (total)" in text
    assert "2 commanders killed (subset)" in text


def test_vague_figures_keep_their_words_and_invent_no_number() -> None:
    vague = Casualty(category="killed", count=None, qualifier="vague", victim_text="military personnel",
                     quote="dozens of military personnel have died")
    text = casualties_text([fact(vague)])
    assert "dozens of military personnel killed" in text


def test_empty_results_say_so_plainly() -> None:
    assert "No casualty figures stored for Border in the last 30d." in casualties_text([])
    assert "No dated events stored for Border" in render_text(build_timeline([], topic_name="Border"))


def test_timeline_orders_by_date_shows_precision_and_merges_outlets() -> None:
    facts = [
        fact(Event(summary="Kabul rocked by explosions", quote="q1", date="2025-10-09", date_precision="day"),
             outlet="A"),
        fact(Event(summary="Kabul was rocked by explosions", quote="q2", date="2025-10-09", date_precision="day"),
             outlet="B"),
        fact(Event(summary="Foreign minister visits Kabul", quote="q3", date="2025-04", date_precision="month")),
        fact(Event(summary="Border closed", quote="q4", date="2024", date_precision="year")),
    ]
    lines = render_text(build_timeline(facts, topic_name="Border")).splitlines()
    body = [line.strip() for line in lines if line.startswith("  ")]
    assert body[0].startswith("2024 — Border closed")
    assert body[1].startswith("Apr 2025 — Foreign minister visits Kabul")
    assert body[2].startswith("Thu 9 Oct 2025 — Kabul")
    assert "· A +1" in body[2]
    assert len(body) == 3


def test_timeline_date_range_and_bad_dates() -> None:
    facts = [fact(Event(summary=f"event {m}", quote=f"q{m}", date=f"2025-{m:02d}-01", date_precision="day"))
             for m in range(1, 13)]
    text = render_text(build_timeline(facts, topic_name="B", date_from="2025-03", date_to="2025-04"))
    assert "event 3" in text and "event 4" in text and "event 5" not in text
    with pytest.raises(BadOption, match="YYYY"):
        parse_date_bound("last tuesday", "from", end=False)


def test_no_range_for_plain_civilians_or_a_dated_and_an_undated_figure_of_one_story() -> None:
    def civilians(n: int, claimant: str, date: str | None) -> Casualty:
        return Casualty(category="killed", count=n, qualifier="exact", quote=f"{n} civilians were killed",
                        victim="civilians", victim_text="civilians", claimant=claimant, date=date)

    text = casualties_text([fact(civilians(25, "committee", "2025-10-11"), story="s1"),
                            fact(civilians(74, "army", "2025-10-11"), story="s1")])
    assert "Range" not in text  # "civilians" names nobody's side: two places' dead are not one range
    one_article = "https://wire.test/background"
    text = casualties_text([fact(killed(26, "Pakistan", "Pakistan", date="2025-04-22"), story="s1", url=one_article),
                            fact(killed(31, "Pakistan", "India"), story="s1", url=one_article)])
    assert "Range" not in text  # one article, two incidents: April's figure and an undated one


def test_derived_lines_carry_their_evidence() -> None:
    old = fact(killed(12, "Pakistan", "Pakistan", date="2025-10-11"), day=12, story="s1")
    new = fact(killed(23, "Pakistan", "Pakistan", date="2025-10-11"), day=13, story="s1")
    answer = build_casualties([new, old], topic_name="Border", window="in the last 30d")
    revised = next(line for s in answer.sections for line in s.lines if line.detail)
    assert revised.basis == (old.id, new.id)


def test_the_terminal_shows_the_articles_url_where_the_line_has_room() -> None:
    from bot.briefing import Answer, Line, Ref, Section, Source, render_embeds, render_text

    short = Line.of("12 killed — reported by ", Source("Wire", "https://wire.test/a"), " ", Ref("abc"))
    long_url = "https://wire.test/" + "x" * 300
    long = Line.of("12 killed — reported by ", Source("Wire", long_url), " ", Ref("def"))
    text = render_text(Answer("T", (Section("", (short, long)),)))
    assert "  12 killed — reported by Wire [abc]  https://wire.test/a" in text
    assert "reported by Wire [def]" in text and long_url not in text  # no room: `ask fact def` has it
    embed = render_embeds(Answer("T", (Section("", (short,)),)))[0][0]
    assert "[Wire](https://wire.test/a)" in embed["description"]
