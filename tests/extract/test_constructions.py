"""Extraction, one construction at a time. Every example here was written for these tests."""

from __future__ import annotations

from datetime import date

import pytest

from bot.extract import Extractor, article_text
from bot.model import Casualty, Event

SUNDAY = date(2025, 10, 12)
EX = Extractor(actors={"Pakistan": ["Islamabad", "ISPR"], "Afghanistan (Taliban)": ["Taliban government", "Kabul"]})


def claims(text: str, published: date | None = SUNDAY) -> list[Casualty]:
    return [f for f in EX.extract(text, published=published) if isinstance(f, Casualty)]


def events(text: str, published: date | None = SUNDAY) -> list[Event]:
    return [f for f in EX.extract(text, published=published) if isinstance(f, Event)]


def one(text: str) -> Casualty:
    found = claims(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(("text", "count", "qualifier", "high"), [
    ("Officials said 1,640 people were killed in the floods of violence.", 1640, "exact", None),
    ("Twenty-three soldiers were killed in the ambush.", 23, "exact", None),
    ("Police said eight villagers were abducted overnight.", 8, "exact", None),
    ("A dozen fighters were captured near the river.", 12, "about", None),
    ("At least 14 civilians were killed in the strike.", 14, "at_least", None),
    ("More than 300 fighters were killed, the army claimed.", 300, "more_than", None),
    ("Nearly 40 people were wounded in the blast.", 40, "about", None),
    ("Up to 90 people are missing after the attack.", 90, "up_to", None),
    ("Fewer than ten soldiers were injured, the ministry said.", 10, "fewer_than", None),
    ("Between 10 and 15 guards were killed at the gate.", 10, "range", 15),
    ("Seven to eight miners were abducted from the site.", 7, "range", 8),
    ("Some 1.5 million people have been displaced by the fighting.", 1500000, "about", None),
])
def test_numbers_and_qualifiers(text: str, count: int, qualifier: str, high: int | None) -> None:
    c = one(text)
    assert (c.count, c.qualifier, c.count_high) == (count, qualifier, high)


def test_vague_amounts_keep_no_invented_number() -> None:
    c = one("Dozens of civilians were killed in the shelling.")
    assert (c.count, c.qualifier, c.category) == (None, "vague", "killed")


@pytest.mark.parametrize(("text", "category"), [
    ("Four policemen lost their lives in the attack.", "killed"),
    ("Six soldiers were martyred in the exchange of fire.", "killed"),
    ("Nine passengers sustained injuries when the bus was hit.", "injured"),
    ("Two engineers were taken prisoner by the rebels.", "captured"),
    ("Eleven fishermen remain missing after the raid.", "missing"),
    ("Police arrested 27 suspects after the riot.", "arrested"),
    ("About 5,000 families fled their homes as fighting spread.", "displaced"),
])
def test_categories_and_their_many_verbs(text: str, category: str) -> None:
    assert one(text).category == category


@pytest.mark.parametrize("text", [
    "The militants seized 21 posts along the border.",
    "The strike happened in 2021 in the same district.",
    "A 17-year-old boy was among those detained.",
    "The convoy was hit 40 km from the capital.",
    "The government pledged $25 million for reconstruction.",
    "Turnout fell by 12 percent in the border districts.",
    "The attack began at 3 am local time.",
    "Soldiers of the 7th Brigade were deployed to the town.",
    "No casualties were reported in the second attack.",
    "The group denied that 30 of its fighters were killed.",
])
def test_traps_are_not_casualty_figures(text: str) -> None:
    assert claims(text) == []


def test_another_and_death_toll_and_including() -> None:
    found = claims("Pakistan acknowledged that the clashes left at least 23 of its soldiers dead and another 29 "
                   "injured.")
    assert [(c.count, c.category, c.victim) for c in found] == [(23, "killed", "Pakistan"), (29, "injured", "Pakistan")]
    toll = one("The death toll rose to 45 on Monday, officials said.")
    assert (toll.count, toll.category) == (45, "killed")
    subset = [c for c in claims("Twelve rebels were killed, including two commanders.") if c.count == 2]
    assert subset and subset[0].breakdown


def test_two_claimants_in_one_sentence_keep_their_own_figures() -> None:
    found = claims("Islamabad says it killed more than 200 Taliban fighters; the Taliban government says 58 "
                   "Pakistani soldiers were killed.")
    by_count = {c.count: c for c in found}
    assert by_count[200].claimant == "Pakistan" and by_count[200].victim == "Afghanistan (Taliban)"
    assert by_count[58].claimant == "Afghanistan (Taliban)" and by_count[58].victim == "Pakistan"
    assert not by_count[200].admitted and not by_count[58].admitted


@pytest.mark.parametrize(("text", "claimant_text"), [
    ("According to the health ministry, 31 people were killed.", "health ministry"),
    ("At least 12 people were killed, police said.", "police"),
    ("The army claimed it had killed 40 insurgents.", "army"),
    ("Security sources said nine soldiers were wounded.", "Security sources"),
])
def test_attribution_forms(text: str, claimant_text: str) -> None:
    c = one(text)
    assert c.claimant_text is not None and claimant_text.lower() in c.claimant_text.lower()


def test_unattributed_figures_have_no_claimant() -> None:
    c = one("Seven civilians were killed when a shell hit a market.")
    assert c.claimant is None and c.claimant_text is None


def test_a_pronoun_carries_the_previous_speaker() -> None:
    found = claims("The Taliban government said 20 Pakistani soldiers were killed. He added that 12 more were "
                   "wounded.")
    assert [c.claimant for c in found] == ["Afghanistan (Taliban)", "Afghanistan (Taliban)"]


def test_civilians_keep_their_side() -> None:
    assert one("Three Afghan civilians were killed by shelling.").victim == "civilians (Afghanistan)"


@pytest.mark.parametrize(("phrase", "expected", "precision"), [
    ("on Thursday night", "2025-10-09", "day"),
    ("on Sunday", "2025-10-12", "day"),
    ("yesterday", "2025-10-11", "day"),
    ("on March 3", "2025-03-03", "day"),
    ("on 3 November", "2024-11-03", "day"),
    ("on March 3, 2023", "2023-03-03", "day"),
    ("in April", "2025-04", "month"),
    ("earlier this month", "2025-10", "month"),
    ("last month", "2025-09", "month"),
    ("in 2014", "2014", "year"),
    ("two years ago", "2023", "year"),
])
def test_dates_resolve_against_the_publication_date(phrase: str, expected: str, precision: str) -> None:
    found = events(f"Gunmen attacked a police post in the district {phrase}.")
    assert [(e.date, e.date_precision) for e in found] == [(expected, precision)]


def test_last_week_has_month_precision_only_within_one_month() -> None:
    assert [e.date for e in events("Clashes erupted last week.", date(2025, 10, 22))] == ["2025-10"]  # 13-19 Oct
    assert [e.date for e in events("Clashes erupted last week.", date(2025, 10, 2))] == ["2025-09"]  # 22-28 Sep
    assert events("Clashes erupted last week.", date(2025, 10, 8)) == []  # 29 Sep-5 Oct: no single month


def test_without_a_publication_date_relative_dates_stay_unresolved() -> None:
    assert events("Gunmen attacked a police post on Thursday.", None) == []
    assert [e.date for e in events("Gunmen attacked a police post on March 3, 2023.", None)] == ["2023-03-03"]


def test_casualty_date_is_the_incident_day() -> None:
    c = one("Gunmen killed 5 guards on Thursday night.")
    assert c.date == "2025-10-09"


def test_html_is_reduced_to_the_article_without_furniture() -> None:
    page = ("<html><body><nav>Home | World | Subscribe</nav><article><h1>Clashes on the border</h1>"
            "<p>Fighting broke out on Saturday night along the frontier, officials said.</p>"
            "<p>Advertisement</p><p>Twelve soldiers were killed in the fighting, the army said.</p></article>"
            "<footer>Share this article</footer></body></html>")
    text = article_text(page)
    assert "Twelve soldiers were killed" in text.text
    assert "Advertisement" not in text.text and "Share this article" not in text.text
    assert not text.preview
    preview = article_text("Fighting flared.\n\nThis preview shows approximately 15% of the article.")
    assert preview.preview and "preview shows" not in preview.text
