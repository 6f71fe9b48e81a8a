"""The extraction pipeline: text → sentences → clauses → (dates, attribution) → casualty claims + events."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from bot.extract._actors import NON_STATE, Gazetteer
from bot.extract._attribution import (
    ORGAN_ROLE,
    PERSONAL,
    find_attribution,
    headline_attribution,
    is_pronoun,
    make_attribution,
    split_clauses,
)
from bot.extract._casualties import (
    CUMULATIVE,
    Antecedent,
    Attribution,
    casualties_in_clause,
    casualty_figures,
    incident_date,
)
from bot.extract._dates import find_dates
from bot.extract._events import event_in_sentence
from bot.extract._parsed import speaker_at
from bot.extract._places import PlaceResolver
from bot.extract._sentences import Sentence, split_sentences
from bot.extract._territory import territory_in_clause
from bot.extract._text import article_text
from bot.model import Casualty, Fact

if TYPE_CHECKING:
    from spacy.tokens import Doc

# How a clause's speaker is found (the ablation in DESIGN.md decided the default):
#   "rules"  the character patterns alone;  "parse"  the dependency parse alone;
#   "both"   the parse first, the patterns where the parse names nobody.
Mode = Literal["rules", "parse", "both"]

_NONE = Attribution(None, None)
# A dateline before the sentence: "BENI, Congo (Reuters) – ", "DEIR AL-BALAH, Gaza Strip (AP) — ",
# "Addis Ababa, Ethiopia — ", "KYIV – ", with a page's "date 2024-12-22 " before it
_PARSE_DATELINE = re.compile(
    r"^\s*(?:date\s+\d{4}-\d\d-\d\d\s+)?(?:[A-Z][A-Za-z'’.-]*(?:\s+[A-Z][A-Za-z'’.-]*){0,3},\s+[A-Z][\w'’.-]*"
    r"(?:\s+[A-Z][\w'’.-]*){0,3}|[A-Z][A-Z'’.-]{2,}(?:\s+[A-Z][A-Z'’.-]+){0,3})(?:\s*\([^)]{1,30}\))?\s*[–—-]{1,2}\s+"
    r"|^\s*[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?\s+[–—-]\s+|^[^\s()]{0,12}\)\s+[–—-]\s+")
_COLON_LEAD = re.compile(r"\b(?:said|says|wrote|writes|stated|added|posted|told\s+\w+)\s*:\s*", re.IGNORECASE)
_OPENING = re.compile(r"[“\"](?=[^“”\"]*$)")  # the last quote mark of a sentence, when it opens a quotation
_QUOTES = re.compile(r"[“”\"]")
_CLOSE_THEN_SAID = re.compile(r"[”\"]\s*(?P<rest>[^“”\"]*)$")


class Extractor:
    """Compiles the gazetteer once; :meth:`extract` is pure and deterministic."""

    def __init__(self, actors: Mapping[str, Sequence[str]] | None = None,
                 places: Mapping[str, Sequence[str]] | None = None, *, mode: Mode = "both") -> None:
        self.gazetteer = Gazetteer(actors or {}, places or {})
        self.mode = mode
        if mode != "rules":
            from bot.extract._nlp import english
            self.nlp = english()  # loaded and checked once per process
        self.places = PlaceResolver(self.gazetteer)

    def countries_named(self, names: Sequence[str]) -> tuple[str, ...]:
        """ISO codes of the countries a topic's name and keywords name ("Pakistan", "Kabul" → PK, AF)."""
        return self.places.countries_named(names)

    def extract(self, text: str, *, published: datetime | date | None = None,
                title: str | None = None, countries: Sequence[str] = ()) -> list[Fact]:
        """``countries``: ISO codes of the topic's countries, where the caller knows them (places are told
        apart by them and by the article's own)."""
        pub = published.date() if isinstance(published, datetime) else published
        facts: list[Fact] = []
        undated: set[int] = set()  # facts whose sentence dates nothing: the article may pin their day elsewhere
        opening: set[int] = set()  # facts of the headline and lead, which may restate the body's claims
        days: set[str] = set()  # the days on which the article's incidents happened
        speakers = _Speakers(self.gazetteer)
        antecedent = Antecedent()
        sentences = [s for s in split_sentences(article_text(text).text)
                     if len(s.text) <= 2000]  # a run-on block with no sentence ends: not prose worth trusting
        quoted = self._quoted_paragraphs(sentences)
        parsed = self._parse(sentences)
        for sentence in sentences:
            quote = sentence.text
            dates = find_dates(quote, pub)
            cumulative = bool(CUMULATIVE.search(quote))
            clauses = split_clauses(quote)
            if clauses and (cut := _CUT_SHORT.search(clauses[-1])):
                # a teaser the feed cut short: the last word before the cut may be a half word ("bo…") or a
                # figure whose noun or cue was cut off ("and 30…"); what stands complete before it stays
                kept = re.sub(r"\S*\s*$", "", clauses[-1][:cut.start()])
                clauses = [*clauses[:-1], kept] if kept.strip() else clauses[:-1]
            doc = parsed.get(sentence.index)
            own = [self._speaker(clause, quote, doc) for clause in clauses]
            fallback = (own[-1] if own else None) or quoted.get(sentence.index) or (
                headline_attribution(quote, self.gazetteer) if _headline(sentence) else None)
            lead: Attribution | None = None
            for clause, found in zip(clauses, own, strict=True):
                # the clause's own speaker; else the sentence's trailing one; else a lead speaker of an earlier
                # clause ("Russia said Ukraine lost 200 troops; it also lost 12 tanks"); else a quote's speaker
                attribution = speakers.resolve(found or lead or fallback or _NONE)
                if found is not None and found.claimant:
                    lead = found
                clause_dates = [d for d in dates if d.text in clause] or dates
                found_casualties = casualties_in_clause(clause, quote, attribution, clause_dates, self.gazetteer,
                                                        cumulative, antecedent,
                                                        self._speaker_at(doc, quote, clause, speakers))
                if sentence.index < _LEAD_SENTENCES or _headline(sentence):
                    opening.update(range(len(facts), len(facts) + len(found_casualties)))
                if not dates and not cumulative and not _headline(sentence) and days:
                    undated.update(i for i, f in enumerate(found_casualties, start=len(facts)) if _one_incident(f))
                facts.extend(found_casualties)
                facts.extend(territory_in_clause(clause, quote, attribution, incident_date(clause_dates, quote),
                                                 self.gazetteer))
            speakers.mentioned(quote)
            event = event_in_sentence(quote, dates, self.gazetteer)
            if event is not None:
                facts.append(event)
            if (event is not None or any(isinstance(f, Casualty) for f in facts[-4:])) and \
                    not cumulative and (day := incident_date(dates, quote)):
                days.add(day)
        facts = _fold_restated(_pin_undated(facts, undated, days), opening)
        return self.places.place_facts(facts, sentences, countries)

    def _parse(self, sentences: list[Sentence]) -> dict[int, Doc]:
        """Parses only what needs it: the sentences with a casualty figure, the only ones attribution reads
        from the parse."""
        if self.mode == "rules":
            return {}
        wanted = [s for s in sentences if casualty_figures(s.text)]
        # a dateline ("BENI, Congo (Reuters) - ") is no part of the sentence's grammar: parsed without it,
        # in its place (blanked out), so that character offsets stay the sentence's own
        texts = (_PARSE_DATELINE.sub(lambda m: " " * len(m.group(0)), s.text) for s in wanted)
        return {s.index: doc for s, doc in zip(wanted, self.nlp.pipe(texts), strict=True)}

    def _speaker(self, clause: str, quote: str, doc: Doc | None) -> Attribution | None:
        """The clause's own speaker: from the parse at the clause's first figure, from the patterns, or both."""
        rules = find_attribution(clause, self.gazetteer) if self.mode != "parse" else None
        if doc is None or self.mode == "rules":
            return rules
        figure = next(iter(casualty_figures(clause)), None)
        parsed = self._parsed(doc, max(quote.find(clause), 0) + figure.start) if figure is not None else None
        return parsed if parsed is not None else rules

    def _parsed(self, doc: Doc, char: int) -> Attribution | None:
        """The attribution the parse gives the figure at ``char`` of the sentence, or None."""
        words = speaker_at(doc, char)
        return make_attribution(words, self.gazetteer) if words else None

    def _speaker_at(self, doc: Doc | None, quote: str, clause: str,
                    speakers: _Speakers) -> Callable[[int], Attribution | None] | None:
        """Each figure's own speaker in the parse, where the parse names one (pronouns resolved)."""
        if doc is None or self.mode == "rules":
            return None
        offset = max(quote.find(clause), 0)

        def at(start: int) -> Attribution | None:
            found = self._parsed(doc, offset + start)
            return speakers.resolve(found) if found is not None and (found.claimant or found.text) else None

        return at

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


_LEAD_SENTENCES = 1  # the first sentence; headlines and related-link lines wherever they stand
_CUT_SHORT = re.compile(r"\s*(?:…|\.\.\.|\[(?:…|\.\.\.)\])\s*$")


def _fold_restated(facts: list[Fact], lead: set[int]) -> list[Fact]:
    """One claim, one line: a headline or lead figure that restates a claim of the body (same figure,
    category and victims, and the same claimant or none) is folded into the body's mention. The body's
    claimant stands; where the body names none, the lead's does."""
    out = list(facts)
    dropped: set[int] = set()
    for i in sorted(lead):
        head = out[i]
        if not isinstance(head, Casualty):
            continue
        for j, body in enumerate(out[i + 1:], start=i + 1):
            if j in lead or j in dropped or not isinstance(body, Casualty) or not _restates(head, body):
                continue
            if body.claimant is None and head.claimant is not None:
                out[j] = replace(body, claimant=head.claimant, claimant_text=head.claimant_text)
            dropped.add(i)
            break
    return [f for i, f in enumerate(out) if i not in dropped]


def _restates(a: Casualty, b: Casualty) -> bool:
    if (a.category, a.count, a.count_high, a.qualifier, a.cumulative, a.breakdown) != \
            (b.category, b.count, b.count_high, b.qualifier, b.cumulative, b.breakdown) or a.count is None:
        return False
    if a.claimant and b.claimant and a.claimant != b.claimant:
        return False
    if a.victim and b.victim and a.victim != b.victim:
        return False
    words_a = set(re.findall(r"[a-z]{4,}", (a.victim_text or "").lower()))
    words_b = set(re.findall(r"[a-z]{4,}", (b.victim_text or "").lower()))
    return a.victim == b.victim or bool(words_a & words_b) or not words_a or not words_b


def _one_incident(fact: Casualty) -> bool:
    """A figure that may be one incident's toll: stated exactly, and smaller than a war's running total."""
    return fact.count is not None and fact.qualifier != "vague" and fact.count < 1000


def _pin_undated(facts: list[Fact], undated: set[int], days: set[str]) -> list[Fact]:
    """A figure whose sentence dates nothing takes the day on which the article pins its incident elsewhere
    ("the operation on Saturday night" ... "58 soldiers were killed"), only when the article pins one day, and
    pins it before the figure (GUIDELINES 3.5). Several days: which incident a figure belongs to is a guess,
    so it stays undated; so do headlines, vague amounts and totals of a thousand or more."""
    if len(days) != 1 or not undated:
        return facts
    day = next(iter(days))
    return [replace(f, date=day) if i in undated and isinstance(f, Casualty) and not f.date else f
            for i, f in enumerate(facts)]


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
        described = self._described(attribution)
        if described is not None:
            return described
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


    def _described(self, attribution: Attribution) -> Attribution | None:
        """A description that stands for a body named earlier: "the Britain-based group" for the Syrian
        Observatory, "the Iran-backed movement" for Hezbollah. Only a named speaker of the same kind, newest
        first, and only where the description names no one itself; otherwise the words stand as written."""
        m = _DESCRIPTION.match(attribution.text or "")
        if m is None or attribution.claimant in NON_STATE:
            return None
        head = m.group("head").lower()
        kinds = _KINDS.get(head, {head})
        for named in reversed(self.named):
            words = set(re.findall(r"[a-z]+", (named.text or "").lower()))
            if named.text != attribution.text and (words & kinds or (
                    head in _ARMED and named.claimant in NON_STATE)):
                return named
        return None


# "the Britain-based group", "the UK-based monitor", "the Iran-backed movement": a second reference, made of
# a hyphenated descriptor and a body's head noun ("a rights group" may be a new speaker: not one of these)
_DESCRIPTION = re.compile(r"^(?:(?:the|this|that)\s+)?(?:[a-z]+\s+)?[A-Z]?[\w]*-(?:based|backed|led|run|aligned|linked|"
                          r"affiliated|allied|funded|supported)\s+(?:[a-z][\w-]*\s+){0,2}"
                          r"(?P<head>group|monitor|movement|militia|organi[sz]ation|observatory|network|outfit|"
                          r"faction|alliance|coalition)$", re.IGNORECASE)
_ARMED = {"group", "movement", "militia", "outfit", "faction", "alliance", "coalition"}
_BODIES = {"group", "observatory", "monitor", "network", "organisation", "organization", "committee", "movement",
           "front", "alliance", "society", "association", "union", "council", "militia", "coalition"}
_KINDS = {"monitor": {"monitor", "observatory"}, "observatory": {"monitor", "observatory"}, "group": _BODIES,
          "organisation": {"organisation", "organization", "group"}, "organization": {"organisation", "organization",
                                                                                   "group"}}


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
