"""Timeline events: a sentence that reports a dated happening becomes one event, summarised by its own
words (extractive: no invented text), with the actors and place it names."""

from __future__ import annotations

import re

from bot.extract._actors import Gazetteer
from bot.extract._dates import DateRef
from bot.model import Event

_CUE = re.compile(
    r"\b(?:attack(?:s|ed|ing)?|strikes?|struck|air\s*strikes?|drone\s+strikes?|bomb(?:s|ed|ing|ings)?|"
    r"blasts?|explosions?|explod(?:ed|ing)|shell(?:ed|ing)|clash(?:es|ed)?|fighting|fought|ambush(?:ed)?|"
    r"raid(?:s|ed)?|offensive|operation|assault(?:ed)?|storm(?:ed)?|seiz(?:ed|ure)|captur(?:ed|e)|overr?an|"
    r"killed|kill(?:ing)?|kidnapp(?:ed|ing)|abduct(?:ed|ion)|met|meetings?|talks|visit(?:ed)?|ceasefire|truce|"
    r"agreement|deal|signed|accus(?:ed|es)|den(?:ied|ies)|claimed|announced|launch(?:ed)?|fired|shot|hit|"
    r"rocked|erupted|flared|withdr(?:ew|awn)|entered|took\s+control|massacre|protest(?:s|ed)?|arrested|"
    r"detained|displaced|fled|warned|vowed|retaliat(?:ed|ion)|shoot(?:ing)?|gunfire|fire|invaded|invasion|"
    r"captured|besieged|siege|blockade|coup|election|crossed|violat(?:ed|ion)|resumed|began|started|"
    r"collapsed|killed|died|wounded|injured)\b", re.IGNORECASE)
_SAID_BEFORE = re.compile(r"\b(?:said|says|told|added|announced|stated|reported|confirmed)\s+(?:\w+\s+)?$",
                          re.IGNORECASE)
_DATELINE = re.compile(r"^[A-Z][A-Z .'-]{2,40},?\s+(?:[A-Z][a-z]{2,8}\.?\s+\d{1,2}\s+)?(?:\([^)]*\)\s*)?[-–—]\s*")


_WHEN_AFTER = re.compile(r"\s*,?\s*when\b", re.IGNORECASE)


def event_in_sentence(sentence: str, dates: list[DateRef], gazetteer: Gazetteer) -> Event | None:
    if not _CUE.search(sentence):
        return None
    # "since 2014, when the Houthis captured the capital": the span's start is the moment of what follows
    point = [d for d in dates if d.value and (not d.span or _WHEN_AFTER.match(sentence[d.end:]))]
    if not point:
        return None
    # A date attached to a reporting verb ("said on Monday") dates the statement, not the happening.
    happening = [d for d in point if not _SAID_BEFORE.search(sentence[:d.start])]
    chosen = (happening or point)[0]
    actors = tuple(dict.fromkeys(m.canonical for m in gazetteer.actors(sentence)))
    places = gazetteer.places(sentence)
    return Event(
        summary=_summary(sentence),
        quote=sentence,
        date=chosen.value,
        date_precision=chosen.precision,  # type: ignore[arg-type]
        actors=actors,
        location=places[0].canonical if places else None,
    )


def _summary(sentence: str, limit: int = 160) -> str:
    text = _DATELINE.sub("", sentence).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:")
    return cut + "…"
