"""The extraction pipeline: text → sentences → clauses → (dates, attribution) → casualty claims + events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from bot.extract._actors import Gazetteer
from bot.extract._attribution import find_attribution, is_pronoun, split_clauses
from bot.extract._casualties import _CUMULATIVE, Antecedent, Attribution, casualties_in_clause
from bot.extract._dates import find_dates
from bot.extract._events import event_in_sentence
from bot.extract._sentences import split_sentences
from bot.extract._text import article_text
from bot.model import Fact

_NONE = Attribution(None, None)


class Extractor:
    """Compiles the gazetteer once; :meth:`extract` is pure and deterministic."""

    def __init__(self, actors: Mapping[str, Sequence[str]] | None = None,
                 places: Mapping[str, Sequence[str]] | None = None) -> None:
        self.gazetteer = Gazetteer(actors or {}, places or {})

    def extract(self, text: str, *, published: datetime | date | None = None,
                title: str | None = None) -> list[Fact]:
        pub = published.date() if isinstance(published, datetime) else published
        facts: list[Fact] = []
        last_speaker = _NONE
        antecedent = Antecedent()
        for sentence in split_sentences(article_text(text).text):
            quote = sentence.text
            if len(quote) > 2000:  # a run-on block with no sentence ends: not prose worth trusting
                continue
            dates = find_dates(quote, pub)
            cumulative = bool(_CUMULATIVE.search(quote))
            clauses = split_clauses(quote)
            sentence_attr = find_attribution(clauses[-1], self.gazetteer) if clauses else None
            for clause in clauses:
                attribution = find_attribution(clause, self.gazetteer) or sentence_attr or _NONE
                if is_pronoun(attribution):
                    attribution = Attribution(last_speaker.claimant, last_speaker.text, last_speaker.subject) \
                        if last_speaker.claimant else Attribution(None, None)
                elif attribution.claimant:
                    last_speaker = attribution
                clause_dates = [d for d in dates if d.text in clause] or dates
                facts.extend(casualties_in_clause(clause, quote, attribution, clause_dates, self.gazetteer,
                                                  cumulative, antecedent))
            event = event_in_sentence(quote, dates, self.gazetteer)
            if event is not None:
                facts.append(event)
        return facts

