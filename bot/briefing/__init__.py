"""Briefing: from stored facts to answers people trust, and from answers to text and Discord embeds.

Pure logic (no discord, aiohttp or tinydb): the builders in _casualties.py and _views.py take lists of
facts; :class:`Briefing` is the thin facade that reads the store for them.
"""

from bot.briefing._answers import Answer, Day, DigestAnswer, Line, Ref, Section
from bot.briefing._chart import ChartData, render_chart
from bot.briefing._render import embed_size, render_embeds, render_text, safe
from bot.briefing._service import Briefing

__all__ = ["Answer", "Briefing", "ChartData", "Day", "DigestAnswer", "Line", "Ref", "Section", "embed_size",
           "render_chart", "render_embeds", "render_text", "safe"]
