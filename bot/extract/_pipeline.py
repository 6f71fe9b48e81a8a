"""The extraction pipeline: text → sentences → clauses → (dates, attribution) → casualty claims + events."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime

from bot.extract._actors import NON_STATE, Gazetteer
from bot.extract._attribution import (
    ORGAN_ROLE,
    PERSONAL,
    find_attribution,
    headline_attribution,
    is_pronoun,
    split_clauses,
)
from bot.extract._casualties import CUMULATIVE, Antecedent, Attribution, casualties_in_clause, incident_date
from bot.extract._dates import find_dates
from bot.extract._events import event_in_sentence
from bot.extract._sentences import Sentence, split_sentences
from bot.extract._territory import territory_in_clause
from bot.extract._text import article_text
from bot.model import Fact

_NONE = Attribution(None, None)
_COLON_LEAD = re.compile(r"\b(?:said|says|wrote|writes|stated|added|posted|told\s+\w+)\s*:\s*", re.IGNORECASE)
_OPENING = re.compile(r"[“\"](?=[^“”\"]*$)")  # the last quote mark of a sentence, when it opens a quotation
_QUOTES = re.compile(r"[“”\"]")
_CLOSE_THEN_SAID = re.compile(r"[”\"]\s*(?P<rest>[^“”\"]*)$")


class Extractor:
    """Compiles the gazetteer once; :meth:`extract` is pure and deterministic."""

    def __init__(self, actors: Mapping[str, Sequence[str]] | None = None,
                 places: Mapping[str, Sequence[str]] | None = None) -> None:
        self.gazetteer = Gazetteer(actors or {}, places or {})

    def extract(self, text: str, *, published: datetime | date | None = None,
                title: str | None = None) -> list[Fact]:
        pub = published.date() if isinstance(published, datetime) else published
        facts: list[Fact] = []
        speakers = _Speakers(self.gazetteer)
        antecedent = Antecedent()
        sentences = split_sentences(article_text(text).text)
        quoted = self._quoted_paragraphs(sentences)
        for sentence in sentences:
            quote = sentence.text
            if len(quote) > 2000:  # a run-on block with no sentence ends: not prose worth trusting
                continue
            dates = find_dates(quote, pub)
            cumulative = bool(CUMULATIVE.search(quote))
            clauses = split_clauses(quote)
            own = [find_attribution(clause, self.gazetteer) for clause in clauses]
            fallback = own[-1] or quoted.get(sentence.index) or (
                headline_attribution(quote, self.gazetteer) if _headline(sentence) else None)
            lead: Attribution | None = None
            for clause, found in zip(clauses, own, strict=True):
                # the clause's own speaker; else the sentence's trailing one; else a lead speaker of an earlier
                # clause ("Russia said Ukraine lost 200 troops; it also lost 12 tanks"); else a quote's speaker
                attribution = speakers.resolve(found or lead or fallback or _NONE)
                if found is not None and found.claimant:
                    lead = found
                clause_dates = [d for d in dates if d.text in clause] or dates
                facts.extend(casualties_in_clause(clause, quote, attribution, clause_dates, self.gazetteer,
                                                  cumulative, antecedent))
                facts.extend(territory_in_clause(clause, quote, attribution, incident_date(clause_dates, quote),
                                                 self.gazetteer))
            speakers.mentioned(quote)
            event = event_in_sentence(quote, dates, self.gazetteer)
            if event is not None:
                facts.append(event)
        return facts

    def _quoted_paragraphs(self, sentences: list[Sentence]) -> dict[int, Attribution]:
        """Sentences inside a quotation that runs over several sentences take its speaker: the attribution
        after its closing quote (“Our forces killed 40. Many more fled,” the spokesman said.) or before its
        opening one (The governor wrote: “Five people were injured. Two are children.”)."""
        out: dict[int, Attribution] = {}
        i = 0
        while i < len(sentences):
            s = sentences[i]
            colon = _COLON_LEAD.search(s.text)
            if colon is not None and (speaker := find_attribution(s.text[:colon.end()], self.gazetteer)):
                # "Mr Prokudin wrote: The military targeted ... Five people were injured.”": the rest of the
                # paragraph, up to a closing quote, is what he wrote
                k = i + 1
                while k < len(sentences) and sentences[k].paragraph == s.paragraph:
                    out[sentences[k].index] = speaker
                    if sentences[k].text.rstrip().endswith(("”", '"')):
                        break
                    k += 1
                i = k
                continue
            opening = _OPENING.search(s.text)
            if opening is None or len(_QUOTES.findall(s.text)) % 2 == 0:
                i += 1
                continue
            lead = find_attribution(s.text[:opening.start()], self.gazetteer) if opening.start() > 3 else None
            end = i
            for j in range(i + 1, min(i + 8, len(sentences))):
                if sentences[j].paragraph - s.paragraph > 1:
                    break
                if len(_QUOTES.findall(sentences[j].text)) % 2 == 1:
                    end = j
                    break
            if end == i:
                i += 1
                continue
            closing = _CLOSE_THEN_SAID.search(sentences[end].text)
            after = find_attribution(sentences[end].text[closing.start():], self.gazetteer) if closing else None
            speaker = after or lead
            if speaker is not None:
                for k in range(i, end + 1):
                    out[sentences[k].index] = speaker
            i = end + 1
        return out


_GROUP_ROLE = re.compile(r"\b(?:group|movement|militants|rebels|insurgents|militia|organi[sz]ation)$", re.IGNORECASE)


class _Speakers:
    """Who "he", "she", "they", "the ministry" or "a spokesman" are: the last named speaker; "he" and "she"
    the last speaker that is a person; "the group" the armed group the text named last. A bare role with
    nobody named before it speaks for itself ("the ministry")."""

    def __init__(self, gazetteer: Gazetteer) -> None:
        self.gazetteer = gazetteer
        self.last = _NONE
        self.last_person = _NONE
        self.last_group: str | None = None
        self.named: list[Attribution] = []  # every named speaker so far, newest last

    def mentioned(self, sentence: str) -> None:
        groups = [m for m in self.gazetteer.actors(sentence) if m.canonical in NON_STATE]
        if groups:
            self.last_group = groups[-1].canonical

    def resolve(self, attribution: Attribution) -> Attribution:
        if is_pronoun(attribution):
            text = attribution.text or ""
            if _GROUP_ROLE.search(text):  # "the group" is an armed group, never the state that spoke last
                if self.last_group:
                    return Attribution(self.last_group, text, subject=self.last_group)
                role = re.sub(r"^(?:the|a|an|its|their)\s+", "", text, flags=re.IGNORECASE)
                return Attribution(role, text)
            organ = ORGAN_ROLE.search(text)
            if organ:
                head = organ.group(0).lower()
                same = next((a for a in reversed(self.named) if head in (a.text or "").lower()), None)
                role = re.sub(r"^(?:the|a|an|its|their)\s+", "", text, flags=re.IGNORECASE)
                return same or Attribution(role[:1].upper() + role[1:], text)
            previous = self.last_person if PERSONAL.match(text) and self.last_person.claimant else self.last
            if previous.claimant:
                return previous
            if PERSONAL.match(text) or text.lower() in ("it", "they", "we", "i"):
                return _NONE
            role = re.sub(r"^(?:the|a|an|its|their)\s+", "", text, flags=re.IGNORECASE)
            return Attribution(role[:1].upper() + role[1:], text)
        if attribution.claimant:
            self.last = attribution
            self.named = [*self.named[-9:], attribution]
            if _is_person(attribution.text or ""):
                self.last_person = attribution
        return attribution


_PERSON_WORDS = re.compile(r"\b(?:spokes(?:man|woman|person)|minister|governor|mayor|president|commander|general|"
                           r"colonel|official|chief|head|director|secretary|leader|envoy|ambassador|doctor|"
                           r"resident|witness|worker|he|she|Mr|Ms|Mrs|Dr)s?\b|^[A-Z][a-z]+\s+[A-Z][a-z]+",
                           re.IGNORECASE)


def _is_person(text: str) -> bool:
    return bool(_PERSON_WORDS.search(text))


def _headline(sentence: Sentence) -> bool:
    """A headline, related-link line or caption: a short line of its own without a full stop."""
    text = sentence.text.rstrip()
    return len(text.split()) <= 20 and not text.endswith((".", "?", "!", "”", '"'))
