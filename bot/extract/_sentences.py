"""Sentence splitting that survives news prose: abbreviations ("Gen.", "U.N."), initials, numbers
("2,640", "1.5 million"), quotes, datelines ("KABUL, Oct 12 (Wire) -") and headlines without a full stop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = {
    "mr", "mrs", "ms", "dr", "gen", "lt", "col", "sgt", "capt", "maj", "brig", "cpl", "pvt", "adm", "gov",
    "sen", "rep", "rev", "st", "no", "vs", "etc", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "inc", "ltd", "co", "corp", "dept", "approx", "est", "prof", "pres",
}
# A full stop, ! or ? (with closing quotes/brackets) followed by space and an opening capital/quote/digit.
_BOUNDARY = re.compile(r"""(?<=[.!?])['"”’)\]]*\s+(?=['"“‘(\[]?[A-Z0-9])""")


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    paragraph: int
    index: int  # position in the article


def split_sentences(text: str) -> list[Sentence]:
    out: list[Sentence] = []
    for p, paragraph in enumerate(p for p in re.split(r"\n\s*\n|\n", text) if p.strip()):
        for piece in _split_paragraph(paragraph.strip()):
            out.append(Sentence(piece, p, len(out)))
    return out


def _split_paragraph(paragraph: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        before = paragraph[start:match.start()].rstrip("'\"”’)]")
        word = re.search(r"([A-Za-z]+)\.$", before)
        if word and (word.group(1).lower() in _ABBREVIATIONS or len(word.group(1)) == 1):
            continue  # "Gen. Asim", "U.S. forces", "J. Smith"
        pieces.append(paragraph[start:match.end()].strip())
        start = match.end()
    pieces.append(paragraph[start:].strip())
    return [p for p in pieces if p]
