"""Incidents: a story's claims side by side, with an evidence note only the stored facts can back."""

from __future__ import annotations

from bot.briefing import render_text
from bot.briefing._incidents import build_incident, evidence_notes, incidents_of
from bot.model import Casualty
from tests.briefing.test_answers import fact, killed


def notes_of(*facts: object) -> list[str]:
    return evidence_notes(incidents_of(list(facts))[0])  # type: ignore[arg-type]


def test_one_article_is_a_single_report() -> None:
    notes = notes_of(fact(killed(7, "Pakistan", "Pakistan", date="2025-10-11"), outlet="Dawn", story="s1"))
    assert notes[0] == "Single report: only Dawn has reported it so far."


def test_the_same_claim_in_two_outlets_is_corroborated_and_says_by_whom() -> None:
    notes = notes_of(*(fact(killed(40, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11"), outlet=o, story="s1")
                       for o in ("Dawn", "Reuters")))
    assert any(n.startswith("Corroborated by 2 independent outlets: Dawn, Reuters report 40 Pakistan killed")
               for n in notes)
    assert not any(n.startswith("Single report") for n in notes)


def test_admitted_losses_and_contested_figures() -> None:
    notes = notes_of(
        fact(killed(19, "Pakistan", "Pakistan", date="2025-10-11", victim_text="of its soldiers"), story="s1"),
        fact(killed(40, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11"), outlet="Kabul Times", story="s1"),
    )
    assert any(n.startswith("Losses admitted by the side that suffered them: Pakistan says 19") for n in notes)
    contested = next(n for n in notes if n.startswith("Contested"))
    assert "Afghanistan (Taliban) says 40" in contested and "Pakistan says 19" in contested


def test_no_note_where_the_grouping_itself_is_uncertain() -> None:
    incident = incidents_of([
        fact(killed(19, "Pakistan", "Pakistan", date="2025-10-09"), outlet="Dawn", story="s1"),
        fact(killed(40, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11"), outlet="Kabul Times", story="s1"),
    ])[0]
    assert evidence_notes(incident) == []
    text = render_text(build_incident(incident))
    assert "No evidence note: its articles give different days (2025-10-09, 2025-10-11)" in text
    assert "19 Pakistan soldiers killed" in text and "40 Pakistan soldiers killed" in text  # still side by side


def test_an_incident_answer_lists_claims_outlets_and_links_never_a_sum() -> None:
    facts = [fact(killed(200, "Afghanistan (Taliban)", "Pakistan", "more_than", "2025-10-11",
                         victim_text="Taliban fighters"), outlet="Dawn", story="s1"),
             fact(Casualty(category="killed", count=9, qualifier="exact", quote="9 of its fighters died",
                           victim="Afghanistan (Taliban)", victim_text="of its fighters",
                           claimant="Afghanistan (Taliban)", date="2025-10-11"), outlet="Tolo", story="s1")]
    text = render_text(build_incident(incidents_of(facts)[0]))
    assert "Reported by 2 outlets" in text and "https://dawn.test/" in text and "https://tolo.test/" in text
    assert "more than 200 Taliban fighters killed — claimed by Pakistan" in text
    assert "209" not in text


def test_stories_that_state_the_same_day_and_place_are_one_incident() -> None:
    def at_kurram(n: int, claimant: str) -> Casualty:
        return Casualty(category="killed", count=n, qualifier="exact", quote=f"{n} soldiers were killed in Kurram",
                        victim="Pakistan", victim_text="soldiers", claimant=claimant, date="2025-10-11",
                        location="Kurram")

    first = fact(at_kurram(19, "Pakistan"), outlet="Dawn", story="s1", day=12)
    follow_up = fact(at_kurram(23, "Pakistan"), outlet="Dawn", story="s2", day=13)
    elsewhere = fact(killed(5, "Pakistan", "Pakistan", date="2025-10-11"), outlet="Dawn", story="s3")
    incidents = incidents_of([follow_up, first, elsewhere])
    joined = next(i for i in incidents if "s2" in i.stories)
    assert joined.id == "s1" and joined.stories == ("s1", "s2")
    assert "raised from 19 to 23" in render_text(build_incident(joined))
    assert any(i.stories == ("s3",) for i in incidents)  # no place stated: its own incident
