"""Answer objects: what a user is told, independent of where it is shown.

An answer is sections of lines; a line is segments. Plain strings are text from feeds or facts (escaped
when rendered for Discord); :class:`Day` is a date that renders as a Discord timestamp where the day is
exact; :class:`Ref` is a fact's short id; :class:`Source` an outlet that links to its article. The same
answer renders as terminal text and as embeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.model import StoredFact

WEEKDAY = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class Day:
    """A date with its precision: "2025-10-09" (day), "2025-10" (month) or "2025" (year)."""

    iso: str

    @property
    def precision(self) -> str:
        return {10: "day", 7: "month"}.get(len(self.iso), "year")

    def text(self) -> str:
        if self.precision == "day":
            d = date.fromisoformat(self.iso)
            return f"{WEEKDAY[d.weekday()]} {d.day} {MONTH[d.month - 1]} {d.year}"
        if self.precision == "month":
            return f"{MONTH[int(self.iso[5:7]) - 1]} {self.iso[:4]}"
        return self.iso


@dataclass(frozen=True, slots=True)
class Ref:
    fact_id: str


@dataclass(frozen=True, slots=True)
class Source:
    """An outlet's name that links to the article: a link in Discord, the URL beside it in the terminal where
    the line has room (the line's :class:`Ref` leads to it through /fact otherwise)."""

    outlet: str
    url: str


def source_of(f: StoredFact) -> Source:
    return Source(f.article.outlet, f.article.url)


Segment = str | Day | Ref | Source


@dataclass(frozen=True, slots=True)
class Line:
    segments: tuple[Segment, ...]
    detail: str = ""  # a second line (the quote, a revision note), shown smaller where possible
    # The facts a statement the bot derives itself rests on (a revision's two figures, a range's two ends):
    # its evidence, for provenance and for the answer audit. Not rendered.
    basis: tuple[str, ...] = ()

    @classmethod
    def of(cls, *segments: Segment, detail: str = "", basis: tuple[str, ...] = ()) -> Line:
        return cls(tuple(s for s in segments if s != ""), detail, basis)


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    title: str
    sections: tuple[Section, ...] = ()
    footer: str = ""
    empty_message: str = ""  # shown instead of sections when there are none
    url: str | None = None

    @property
    def empty(self) -> bool:
        return not any(s.lines for s in self.sections)


@dataclass(frozen=True, slots=True)
class DigestAnswer(Answer):
    guild_id: int | None = None
    up_to_seq: int = 0  # the watermark to store once the digest was delivered
    notices: tuple[str, ...] = field(default=())


def by_topic(answers: list[tuple[str, Answer]], *, title: str, empty: Answer) -> Answer:
    """One answer per topic made one, each topic's sections under its own name, never mixed: a server that
    follows several topics asks without one. ``empty`` is the answer when no topic has anything."""
    sections: list[Section] = []
    footers: list[str] = []
    for name, answer in answers:
        if answer.empty:
            continue
        sections += [Section(f"{name} — {s.heading}" if s.heading else name, s.lines) for s in answer.sections]
        if answer.footer:
            footers.append(f"{name}: {answer.footer}")
    if not sections:
        return empty
    return Answer(title, tuple(sections), footer="\n".join(footers))
