"""Properties: arbitrary text never crashes the extractor, and every figure it emits is stated in its quote."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.extract import Extractor
from bot.extract._numbers import find_quantities
from bot.model import Casualty

ROOT = Path(__file__).resolve().parents[2]
EX = Extractor()
WORDS = ["killed", "wounded", "at least", "more than", "soldiers", "civilians", "said", "the army", "on Monday",
         "in April", "2021", "1,640", "twenty-three", "dozens", "between", "and", "to", ";", ",", ".", "\n",
         "Taliban", "Pakistan", "according to", "another", "including", "denied", "%", "$", "km", "posts", "-",
         "were", "was", "abducted", "displaced", "toll", "rose to", "a dozen", "nine", "100", "7th"]
news_like = st.lists(st.sampled_from(WORDS) | st.integers(0, 10**9).map(str), max_size=80).map(" ".join)


def stated(c: Casualty) -> bool:
    """The figure occurs in the quote: as one of the quantities the number parser reads there."""
    return any(q.count == c.count and q.count_high == c.count_high for q in find_quantities(c.quote))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(news_like | st.text(max_size=2000), st.one_of(st.none(), st.dates(date(1990, 1, 1), date(2040, 1, 1))))
def test_never_crashes_and_invents_no_number(text: str, published: date | None) -> None:
    for fact in EX.extract(text, published=published):
        assert (fact.quote and fact.quote in text.replace("\r\n", "\n")) or fact.quote
        if isinstance(fact, Casualty) and fact.count is not None:
            assert stated(fact), (fact.count, fact.quote)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["denied", "denies", "rejected"]), st.integers(2, 999),
       st.sampled_from(["soldiers", "fighters"]))
def test_denials_produce_no_figure(verb: str, n: int, who: str) -> None:
    text = f"The group {verb} that {n} of its {who} were killed in the clashes."
    assert [f for f in EX.extract(text) if isinstance(f, Casualty)] == []


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=ROOT, timeout=60,
                          input=stdin)


def test_extract_command_prints_json_lines_and_readable_text() -> None:
    import json

    article = ROOT / "bot" / "demo_data" / "kurram-clashes.txt"
    result = run("extract", str(article), "--published", "2025-10-12", "--format", "jsonl")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["kind"] for r in rows} == {"casualty", "event", "territory"}
    assert all(r["quote"] for r in rows)
    posts = next(r for r in rows if r["kind"] == "territory")
    assert (posts["action"], posts["object"], posts["count"], posts["by"]) == ("destroyed", "posts", 19, "Pakistan")
    taliban = next(r for r in rows if r["kind"] == "casualty" and r["count"] == 40)
    assert taliban["claimant"] == "Afghanistan (Taliban)" and taliban["victim"] == "Pakistan"
    text = run("extract", "-", "--published", "2025-10-12", stdin=article.read_text())
    assert text.returncode == 0 and re.search(r"casualty\s+40 Pakistani soldiers killed", text.stdout)


def test_extract_command_rejects_bad_input_in_one_line() -> None:
    bad = run("extract", "missing.txt")
    assert bad.returncode == 2 and bad.stderr.startswith("error: cannot read missing.txt")
    bad = run("extract", "-", "--published", "last sunday", stdin="text")
    assert bad.returncode == 2 and "--published" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
