"""The words a fact is found by, folded the same way by both drivers (case and accents aside): the TinyDB
driver's word index and scans, and the PostgreSQL driver's ``words`` column and its queries."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.model import StoredFact

_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    """Lower case, accents removed: "Pakistán" and "pakistan" are the same word."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> set[str]:
    if text.isascii():  # the common case, and the same answer: ASCII has no accents to remove
        return set(_WORD.findall(text.lower()))
    return set(_WORD.findall(fold(text)))


def search_text(quote: str | None, title: str | None, outlet: str | None, summary: str | None,
                location: str | None, actors: Iterable[str] | None, victim: str | None, victim_text: str | None,
                claimant: str | None, claimant_text: str | None) -> str:
    """The text a fact is found by: its quote, summary, place, actors and sides, and its article's title
    and outlet. The one definition, for the word index and for scanning an old partition's documents."""
    return " ".join(filter(None, (quote, title, outlet, summary, location, " ".join(actors or ()), victim,
                                  victim_text, claimant, claimant_text)))


def might_contain(text: str, terms: Iterable[str]) -> bool:
    """A quick test before :func:`words`: every term is a substring of the folded text."""
    folded = text.lower() if text.isascii() else fold(text)
    return all(term in folded for term in terms)


def fact_words(fact: StoredFact) -> set[str]:
    """Every word of :func:`search_text` of a stored fact."""
    f = fact.fact
    return words(search_text(
        f.quote, fact.article.title, fact.article.outlet, getattr(f, "summary", None),
        getattr(f, "location", None), getattr(f, "actors", None), getattr(f, "victim", None),
        getattr(f, "victim_text", None), getattr(f, "claimant", None), getattr(f, "claimant_text", None)))
