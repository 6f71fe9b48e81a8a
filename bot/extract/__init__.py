"""Fact extraction: pure functions, text in, facts out. No network, no database.

    extractor = Extractor(actors=config.actors, places=config.places)   # compiles the gazetteer once
    facts = extractor.extract(article_text(raw).text, published=published)

See DESIGN.md in this folder for the approach and its known limits.
"""

from bot.extract._pipeline import Extractor
from bot.extract._text import ArticleText, article_text

__all__ = ["ArticleText", "Extractor", "article_text"]
