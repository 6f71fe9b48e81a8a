"""Attribution the way a careful reader does it, from the sentence's structure (issue 16). Every sentence here
was written for these tests: the constructions come from published news, the wording does not."""

from __future__ import annotations

from datetime import date

import pytest

from bot.extract import Extractor
from bot.model import Casualty

SUNDAY = date(2025, 10, 12)
EX = Extractor(actors={"Pakistan": ["Islamabad", "ISPR", "Pakistani military"],
                       "Afghanistan (Taliban)": ["Taliban government", "Kabul"]})


def claims(text: str) -> list[Casualty]:
    return [f for f in EX.extract(text, published=SUNDAY) if isinstance(f, Casualty)]


def claimant_of(text: str, count: int) -> str | None:
    found = [c for c in claims(text) if c.count == count]
    assert len(found) == 1, found
    return found[0].claimant_text


@pytest.mark.parametrize(("text", "count", "speaker"), [
    # report verbs and their subjects, wherever the figure stands in the complement
    ("The provincial police chief told a news conference that 17 guards were killed in the raid.", 17,
     "provincial police chief"),
    ("Nineteen villagers were abducted overnight, a local elder, Musa Garba, said by telephone.", 19,
     "Musa Garba"),
    # nested reports: the inner speaker claims the figure, the outer one only passes it on
    ("The broadcaster reported that the regional health office said 31 people had died.", 31,
     "regional health office"),
    # passives and participles
    ("The district commissioner was quoted as saying that 12 herders were shot dead.", 12,
     "district commissioner"),
    ("The rebel command issued a statement on Sunday claiming its fighters had killed 45 soldiers.", 45,
     "rebel command"),
    ("Medics at the field hospital treated the wounded, saying 23 civilians were brought in with injuries.", 23,
     "Medics"),
    # "according to", and "citing" through a channel
    ("At least 14 people were killed in the shelling, according to the regional governor.", 14,
     "regional governor"),
    ("The toll rose to 27 dead, the state news agency said, citing the interior ministry.", 27,
     "interior ministry"),
])
def test_the_speaker_is_found_by_the_sentence_structure(text: str, count: int, speaker: str) -> None:
    assert speaker.casefold() in (claimant_of(text, count) or "").casefold()


def test_two_speakers_in_one_sentence_each_keep_their_figure() -> None:
    text = ("Kabul reported nine dead in the strikes on Saturday, as the Pakistani military said it had killed "
            "more than 40 militants in the operation.")
    by_count = {c.count: c.claimant for c in claims(text)}
    assert by_count == {9: "Afghanistan (Taliban)", 40: "Pakistan"}


def test_a_pronoun_in_the_complement_is_the_sentence_s_named_speaker() -> None:
    text = "A resident described the attack. The monitoring mission said it had counted 43 bodies in the village."
    assert "monitoring mission" in (claimant_of(text, 43) or "").casefold()


@pytest.mark.parametrize("text", [
    "Reuters reported that 16 people were killed in the blast.",
    "Sixteen people were killed in the blast, the AFP news agency reported.",
])
def test_a_news_agency_that_passes_a_figure_on_is_the_channel_not_the_claimant(text: str) -> None:
    (c,) = claims(text)
    assert c.claimant is None and c.claimant_text is None  # shown as reported by the outlet


def test_an_agency_s_own_count_is_its_claim() -> None:
    text = "At least 212 people have died in the fighting since May, according to an AFP tally."
    (c,) = claims(text)
    assert c.claimant_text == "AFP"


def test_narration_beside_a_quote_is_the_outlet_s() -> None:
    """The figure stands in a clause describing a place the speaker stands in, not in what he says."""
    text = ("“We have nothing left,” Omar said from a shelter at the town hall, where 60 families have taken "
            "refuge.")
    assert all(c.claimant_text != "Omar" for c in claims(text))


def test_a_thing_is_never_a_speaker() -> None:
    text = ("The rebel spokesman added that a large quantity of ammunition had been seized and confirmed that "
            "more than 30 of their men were also killed.")
    assert "spokesman" in (claimant_of(text, 30) or "")


@pytest.mark.parametrize("text", [
    "BENI, Congo (Reuters) – Gunmen killed at least 18 people in a village overnight, a rights group said.",
    "Goma – Gunmen killed at least 18 people in a village overnight, a rights group said.",
])
def test_a_dateline_is_no_speaker(text: str) -> None:
    assert claimant_of(text, 18) == "rights group"



@pytest.mark.parametrize(("text", "expected"), [
    ("Officials said eight fighters were killed and 15 others wounded during clashes near the…",
     {(8, "killed"), (15, "injured")}),
    ("Officials said at least 12 people were…", set()),
    ("The army said it killed 20 soldiers and 30…", {(20, "killed")}),
])
def test_a_teaser_cut_short_gives_only_what_stands_complete_before_the_cut(text: str, expected: set) -> None:
    assert {(c.count, c.category) for c in claims(text)} == expected


def test_an_aside_between_dashes_leaves_the_figure_and_its_cue_together() -> None:
    found = {(c.count, c.category, c.breakdown) for c in claims(
        "Five people—including three civilians—were killed in the attack, the governor said.")}
    assert found == {(5, "killed", False), (3, "killed", True)}


def test_since_a_year_when_dates_the_event_that_follows() -> None:
    (event,) = [f for f in EX.extract("The war has raged since 2014, when rebels captured the capital.",
                                      published=SUNDAY) if f.kind == "event"]
    assert (event.date, event.date_precision) == ("2014", "year")  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "count", "speaker"), [
    ("The Syrian Observatory for Human Rights said 12 people were killed. The Britain-based group said seven "
     "fighters were also killed.", 7, "Syrian Observatory for Human Rights"),
    ("Hezbollah said it fired rockets at a base. The Iran-backed movement said two of its fighters were killed.", 2,
     "Hezbollah"),
])
def test_a_description_stands_for_the_body_named_before(text: str, count: int, speaker: str) -> None:
    found = [c for c in Extractor(actors={"Hezbollah": ["Hezbollah"]}).extract(text, published=SUNDAY)
             if isinstance(c, Casualty) and c.count == count]
    assert [c.claimant_text for c in found] == [speaker]


def test_a_first_mention_is_not_taken_for_an_earlier_body() -> None:
    text = "The army said 12 soldiers were wounded. A rights group said five civilians were killed."
    assert claimant_of(text, 5) == "rights group"
