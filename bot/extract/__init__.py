"""Fact extraction: pure functions, text in, facts out. No network, no database.

    extractor = Extractor(actors=config.actors, places=config.places)   # gazetteer + English pipeline, once
    facts = extractor.extract(article_text(raw).text, published=published)

The poller extracts in a worker process (``ExtractionWorker``): the parser holds the GIL.

See DESIGN.md in this folder for the approach and its known limits.
"""

from bot.extract._pipeline import Extractor
from bot.extract._text import ArticleText, article_text
from bot.extract.worker import Extraction, ExtractionWorker, InlineExtraction

__all__ = ["ArticleText", "Extraction", "ExtractionWorker", "Extractor", "InlineExtraction", "article_text"]
