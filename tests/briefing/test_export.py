"""Exports: one row per claim, columns a spreadsheet or a script can rely on, and files that open cleanly."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from bot.briefing import COLUMNS, ExportTooLarge, read_csv
from bot.briefing._export import ExportScope, build_export, export_files, parse_since, to_csv, to_json
from bot.errors import BadOption
from bot.model import ArticleRef, Casualty, Event, StoredFact, Territory

BOM = b"\xef\xbb\xbf"
_seq = iter(range(1, 100_000))


def stored(fact: Casualty | Event | Territory, *, outlet: str = "Wire", day: int = 12, story: str | None = "s1",
           topics: tuple[str, ...] = ("pak-afg",)) -> StoredFact:
    seq = next(_seq)
    published = datetime(2025, 10, day, 8, 30, tzinfo=UTC)
    return StoredFact(id=f"id{seq:07d}", seq=seq, fact=fact, topics=topics, stored_at=published, story_id=story,
                      article=ArticleRef(f"https://{outlet.lower()}.test/a/{seq}", outlet, f"Story {seq}", published))


def casualty(count: int | None, victim: str | None, claimant: str | None, **kw: object) -> Casualty:
    return Casualty(**{"category": "killed", "count": count, "qualifier": "exact", "victim": victim,  # type: ignore[arg-type]
                       "victim_text": f"{victim} soldiers" if victim else "people", "claimant": claimant,
                       "claimant_text": claimant, "quote": f"{count} were killed, {claimant} said.", **kw})


POSTS = Territory(action="taken", object="posts", count=21, qualifier="more_than", by_side="Pakistan",
                  from_side="Afghanistan (Taliban)", claimant="Pakistan", claimant_text="the army",
                  quote="The army said it took control of more than 21 posts.", date="2025-10", location="Kurram")


def export_of(facts: list[StoredFact], topics: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """The CSV as a spreadsheet would read it: raw cells, nothing undone."""
    data = to_csv(build_export(facts, ExportScope("Border", "everything stored", topics)).rows)
    assert data.startswith(BOM)
    return list(csv.DictReader(io.StringIO(data[len(BOM):].decode("utf-8"), newline="")))


def test_one_row_per_claim_with_its_kind_and_the_columns_in_order() -> None:
    facts = [stored(casualty(40, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11", location="Kurram")),
             stored(POSTS),
             stored(Event(summary="Border crossing closed", quote="The crossing was closed.", date="2025-10-11",
                          date_precision="day"))]
    data = to_csv(build_export(facts, ExportScope("Border", "everything stored")).rows)
    header = data[len(BOM):].decode("utf-8").splitlines()[0]
    assert header.split(",") == list(COLUMNS)
    rows = export_of(facts)
    assert [r["kind"] for r in rows] == ["casualty", "territory"]  # events are the timeline, not claims
    killed, taken = rows
    assert killed | {"published": "2025-10-12T08:30:00Z"} == killed
    assert (killed["event_date"], killed["date_precision"], killed["place"], killed["incident_id"]) == \
        ("2025-10-11", "day", "Kurram", "s1")
    assert (killed["category"], killed["figure_low"], killed["figure_high"], killed["qualifier"]) == \
        ("killed", "40", "", "exact")
    assert (killed["victim_side"], killed["victim_text"], killed["claimant"]) == \
        ("Pakistan", "Pakistan soldiers", "Afghanistan (Taliban)")
    assert killed["object"] == killed["by"] == killed["from"] == ""
    assert (taken["category"], taken["object"], taken["by"], taken["from"]) == \
        ("taken", "posts", "Pakistan", "Afghanistan (Taliban)")
    assert (taken["figure_low"], taken["qualifier"], taken["date_precision"]) == ("21", "more_than", "month")
    assert taken["victim_side"] == taken["victim_text"] == ""
    assert (taken["claimant"], taken["claimant_text"], taken["outlet"]) == ("Pakistan", "the army", "Wire")


def test_contested_figures_stay_separate_rows_as_stated_and_nothing_is_derived() -> None:
    rows = export_of([
        stored(casualty(200, "Afghanistan (Taliban)", "Pakistan", qualifier="more_than")),
        stored(casualty(9, "Afghanistan (Taliban)", "Afghanistan (Taliban)")),
        stored(casualty(7, "civilians", None, qualifier="range", count_high=8)),
        stored(casualty(None, "civilians", "UN", qualifier="vague", quote="Dozens were killed, the UN said.")),
        stored(casualty(400, "civilians", "UN", cumulative=True)),
    ])
    assert [(r["figure_low"], r["figure_high"], r["qualifier"]) for r in rows] == [
        ("200", "", "more_than"), ("9", "", "exact"), ("7", "8", "range"), ("", "", "vague"), ("400", "", "exact")]
    assert [r["claimant"] for r in rows] == ["Pakistan", "Afghanistan (Taliban)", "", "UN", "UN"]  # "": the outlet
    assert [r["scope"] for r in rows] == ["", "", "", "", "total"]  # a running total is not one incident's toll
    cells = {v for r in rows for v in r.values()}
    assert "209" not in cells and "104" not in cells and "104.5" not in cells  # no sum, no average


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_no_cell_can_be_read_as_a_formula(start: str) -> None:
    quote = f"{start}HYPERLINK(\"http://evil.test\",\"click\")"
    row = export_of([stored(casualty(3, "civilians", f"{start}cmd|' /C calc'!A0", quote=quote))])[0]
    assert row["quote"] == "'" + quote
    assert row["claimant"].startswith("'" + start)
    assert not any(str(v).startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values())


def test_escaping_is_undone_when_read_back_and_json_is_left_as_data() -> None:
    tricky = ["=1+1", "-5 soldiers", "@home", "'quoted", "\ttab", "plain, with \"quotes\"\nand a newline", "é ü ش"]
    facts = [stored(casualty(i + 1, "civilians", text, quote=text)) for i, text in enumerate(tricky)]
    export = build_export(facts, ExportScope("Border", "everything stored"))
    back = read_csv(to_csv(export.rows))
    assert [r["quote"] for r in back] == tricky
    assert [r["claimant"] for r in back] == tricky
    assert [r["quote"] for r in json.loads(to_json(export.rows))] == tricky


def test_round_trip_the_csv_back_to_the_stored_facts() -> None:
    facts = [
        stored(casualty(40, "Pakistan", "Afghanistan (Taliban)", date="2025-10-11", location="Kurram"), day=11),
        stored(casualty(23, "Pakistan", "Pakistan", qualifier="at_least", breakdown=True), outlet="Dawn", story=None),
        stored(casualty(7, None, None, qualifier="range", count_high=8, category="injured"), day=13),
        stored(POSTS, outlet="Reuters", topics=("pak-afg", "sudan")),
    ]
    rows = read_csv(to_csv(build_export(facts, ExportScope("Border", "everything stored")).rows))
    assert [r["fact_id"] for r in rows] == [facts[0].id, facts[1].id, facts[3].id, facts[2].id]  # oldest first
    by_id = {f.id: f for f in facts}
    for row in rows:
        f = by_id[row["fact_id"]]  # type: ignore[index]
        c = f.fact
        assert row["kind"] == c.kind
        assert row["published"] == f.article.published.strftime("%Y-%m-%dT%H:%M:%SZ")  # type: ignore[union-attr]
        assert (row["outlet"], row["url"], row["quote"], row["incident_id"]) == \
            (f.article.outlet, f.article.url, c.quote, f.story_id)
        assert row["topic"] == "; ".join(f.topics)
        assert (row["event_date"], row["place"]) == (c.date, c.location)  # type: ignore[union-attr]
        assert (row["figure_low"], row["figure_high"], row["qualifier"]) == \
            (c.count, c.count_high, c.qualifier)  # type: ignore[union-attr]
        assert (row["claimant"], row["claimant_text"]) == (c.claimant, c.claimant_text)  # type: ignore[union-attr]
        if isinstance(c, Casualty):
            assert (row["category"], row["victim_side"], row["victim_text"]) == (c.category, c.victim, c.victim_text)
            assert row["scope"] == ("subset" if c.breakdown else None)
        else:
            assert isinstance(c, Territory)
            assert (row["category"], row["object"], row["by"], row["from"]) == \
                (c.action, c.object, c.by_side, c.from_side)


def test_a_fact_of_two_topics_is_one_row_naming_only_the_topics_asked_for() -> None:
    both = stored(POSTS, topics=("pak-afg", "sudan", "222:private"))
    rows = export_of([both, both], topics=("pak-afg", "sudan"))  # read once per topic
    assert [r["topic"] for r in rows] == ["pak-afg; sudan"]  # never another server's own topic


def test_json_is_a_list_of_objects_with_the_same_fields() -> None:
    export = build_export([stored(POSTS), stored(casualty(3, "civilians", None))], ExportScope("B", "all"))
    objects = json.loads(to_json(export.rows))
    assert [list(o) for o in objects] == [list(COLUMNS)] * 2
    assert objects[0]["figure_low"] == 21 and objects[1]["claimant"] is None


def test_a_file_over_the_limit_is_split_into_files_that_each_stand_alone() -> None:
    facts = [stored(casualty(i, "civilians", "UN", quote=f"Claim number {i}: {'x' * 200}")) for i in range(1, 61)]
    export = build_export(facts, ExportScope("Border", "everything stored", stem="sitrep-pak-afg-20251012"))
    whole = to_csv(export.rows)
    files = export_files(export, "csv", limit=4000)
    assert len(whole) > 4000 and len(files) > 2
    assert [f.name for f in files][:2] == [f"sitrep-pak-afg-20251012-part{i}of{len(files)}.csv" for i in (1, 2)]
    header = whole.split(b"\r\n", 1)[0]
    for f in files:
        assert len(f.data) <= 4000
        assert f.data.split(b"\r\n", 1)[0] == header  # BOM and header in every part
    assert [r for f in files for r in read_csv(f.data)] == read_csv(whole)
    parts = export_files(export, "json", limit=4000, max_parts=50)
    assert all(len(p.data) <= 4000 for p in parts)
    assert [o for p in parts for o in json.loads(p.data)] == json.loads(to_json(export.rows))


def test_an_export_that_fits_is_one_file_and_one_that_needs_too_many_is_refused_clearly() -> None:
    facts = [stored(casualty(i, "civilians", "UN", quote="q" * 300)) for i in range(1, 41)]
    export = build_export(facts, ExportScope("Border", "everything stored", stem="sitrep-all-topics-20251012"))
    assert [f.name for f in export_files(export, "json", limit=1 << 20)] == ["sitrep-all-topics-20251012.json"]
    with pytest.raises(ExportTooLarge, match=r"more than 3 files of 1\.0 KiB.*Narrow it with topic or since"):
        export_files(export, "csv", limit=1024, max_parts=3)
    with pytest.raises(ExportTooLarge, match="one row"):
        export_files(export, "csv", limit=300)


def test_since_is_a_duration_or_a_date() -> None:
    now = datetime(2025, 10, 12, 12, tzinfo=UTC)
    assert parse_since("7d", now) == (datetime(2025, 10, 5, 12, tzinfo=UTC), "published in the last 7d")
    assert parse_since("2025-10", now) == (datetime(2025, 10, 1, tzinfo=UTC), "published since 2025-10")
    assert parse_since(None, now) == (None, "everything stored")
    for bad in ("yesterday", "2025-13-01"):
        with pytest.raises(BadOption, match="since"):
            parse_since(bad, now)
