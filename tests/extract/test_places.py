"""Places on the gazetteer: the words a text names and the entry they resolve to, or none where that would be
a guess. Every example here was written for these tests; the gazetteer is the packaged GeoNames data."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from bot.extract import Extractor
from bot.model import Casualty, Place

EX = Extractor()
SUNDAY = date(2025, 10, 12)
ROOT = Path(__file__).resolve().parents[2]


def place_of(text: str) -> tuple[str | None, Place | None]:
    figures = [f for f in EX.extract(text, published=SUNDAY) if isinstance(f, Casualty)]
    assert figures, "no casualty figure found"
    return figures[0].location, figures[0].place


def test_a_town_in_a_named_region_is_the_town_with_its_province() -> None:
    words, place = place_of("Russian drones struck Voznesensk in Ukraine's Mykolaiv region on Sunday, killing three "
                            "people, the governor said.")
    assert words == "Voznesensk"
    assert place is not None
    assert (place.name, place.country, place.precision) == ("Voznesensk", "UA", "town")
    assert place.admin1 == "Mykolaivska oblast"
    assert place.lat == pytest.approx(47.56, abs=0.05) and place.lon == pytest.approx(31.33, abs=0.05)


def test_an_unnamed_village_in_a_named_region_is_the_region() -> None:
    words, place = place_of("The junta carried out an air strike on a village in Myanmar's Sagaing region, killing "
                            "12 civilians, residents said.")
    assert words in ("Sagaing", "Sagaing region")  # the province list names it too
    assert place is not None and (place.name, place.country, place.precision) == ("Sagaing", "MM", "province")


def test_a_district_is_told_apart_by_the_articles_countries() -> None:
    _, place = place_of("Pakistani forces killed 20 militants in Kurram on Saturday after fighters crossed from "
                        "Afghanistan, the army said.")
    assert place is not None
    assert (place.name, place.country, place.precision, place.admin1) == (
        "Kurram District", "PK", "district", "Khyber Pakhtunkhwa")


@pytest.mark.parametrize("text", [
    "Fighting in Northern areas left five soldiers dead, officials said.",
    "Five soldiers were killed in the Centre on Saturday, officials said.",
    "Five soldiers were killed near the border on Saturday, officials said.",
    "Five soldiers were killed in northern districts on Saturday, officials said.",
])
def test_directions_and_generic_words_are_never_places(text: str) -> None:
    assert place_of(text) == (None, None)


def test_a_name_that_cannot_be_placed_without_a_guess_gets_no_coordinates() -> None:
    # Springfield is a town in several countries and the article names none
    assert place_of("Five people were killed in Springfield on Saturday, police said.")[1] is None
    # a village the gazetteer does not know: no coordinates, and nothing guessed from a later name
    _, place = place_of("Gunmen killed seven villagers in Xqzville, near the Ugandan border, the army said.")
    assert place is None


def test_a_figure_takes_the_place_named_earlier_in_its_paragraph() -> None:
    text = ("A suicide bomber struck a market in Chaman in Pakistan's Balochistan province on Saturday. "
            "Officials said six people were killed.")
    figures = [f for f in EX.extract(text, published=SUNDAY) if isinstance(f, Casualty)]
    assert figures and figures[0].place is not None and figures[0].place.name == "Chaman"


def test_extract_jsonl_prints_the_place(tmp_path: Path) -> None:
    article = tmp_path / "a.txt"
    article.write_text("Russian drones struck Voznesensk in Ukraine's Mykolaiv region on Sunday, killing three "
                       "people.\n\nFive soldiers were killed in the Centre, officials said.\n", encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "bot", "extract", str(article), "--format", "jsonl",
                          "--published", "2025-10-12"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    placed = [r for r in rows if r["kind"] == "casualty" and r["count"] == 3]
    assert placed and set(placed[0]["place"]) == {"name", "lat", "lon", "admin1", "country", "precision"}
    assert placed[0]["place"]["country"] == "UA" and placed[0]["location"] == "Voznesensk"
    unplaced = [r for r in rows if r["kind"] == "casualty" and r["count"] == 5]
    assert unplaced and unplaced[0]["place"] is None and unplaced[0]["location"] is None


def test_the_topics_countries_tell_a_name_apart_where_the_article_names_none() -> None:
    text = "Five people were killed in Hyderabad on Saturday, police said."
    unknown = [f for f in EX.extract(text, published=SUNDAY) if isinstance(f, Casualty)]
    assert unknown[0].place is None  # Hyderabad in India or in Pakistan: not without a guess
    pak = [f for f in EX.extract(text, published=SUNDAY, countries=("PK",)) if isinstance(f, Casualty)]
    assert pak[0].place is not None and (pak[0].place.name, pak[0].place.country) == ("Hyderabad", "PK")
    assert EX.countries_named(("Pakistan–Afghanistan border", "Pakistan", "Kabul", "Taliban")) == ("PK", "AF")
