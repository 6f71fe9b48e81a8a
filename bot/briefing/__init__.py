"""Briefing: from stored facts to answers people trust, and from answers to text and Discord embeds.

Pure logic (no discord, aiohttp or tinydb): the builders in _casualties.py, _views.py and _export.py take
lists of facts; :class:`Briefing` is the thin facade that reads the store for them.
"""

from bot.briefing._alerts import (
    AlertMessage,
    AlertPlan,
    AlertSummary,
    describe_rule,
    plan_alerts,
    recent_alerts,
    sent_key,
    summary_key,
)
from bot.briefing._answers import Answer, Day, DigestAnswer, Line, Ref, Section, Source
from bot.briefing._chart import render_chart
from bot.briefing._chart_data import ChartData
from bot.briefing._export import COLUMNS, FORMATS, Export, ExportFile, ExportTooLarge, read_csv, render_export
from bot.briefing._map import map_answer, render_map
from bot.briefing._map_data import MapData
from bot.briefing._render import embed_size, render_embeds, render_text, safe
from bot.briefing._service import Briefing

__all__ = ["COLUMNS", "FORMATS", "AlertMessage", "AlertPlan", "AlertSummary", "Answer", "Briefing", "ChartData", "Day",
           "DigestAnswer", "Export", "ExportFile", "ExportTooLarge", "Line", "MapData", "Ref", "Section", "Source",
           "describe_rule", "embed_size", "map_answer", "plan_alerts", "read_csv", "recent_alerts", "render_chart",
           "render_embeds", "render_export", "render_map", "render_text", "safe", "sent_key", "summary_key"]
