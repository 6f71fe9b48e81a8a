"""Replying with an answer: embeds from the briefing layer, pages behind buttons only the asker can press."""

from __future__ import annotations

import contextlib
from typing import Any

import discord

from bot.briefing import Answer, render_embeds

NO_MENTIONS = discord.AllowedMentions.none()
PAGE_TIMEOUT = 300.0


def embeds_of(page: list[dict[str, Any]]) -> list[discord.Embed]:
    return [discord.Embed.from_dict(e) for e in page]


class Pager(discord.ui.View):
    """Previous/next buttons over pre-rendered pages. Only the user who asked may turn pages; the buttons
    disable themselves when the view times out."""

    def __init__(self, pages: list[list[dict[str, Any]]], owner_id: int, timeout: float = PAGE_TIMEOUT) -> None:
        super().__init__(timeout=timeout)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        self.message: discord.InteractionMessage | None = None
        self._sync_buttons()

    def _sync_buttons(self) -> None:  # not _refresh: discord.py's View has its own
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message("Only the person who asked can turn these pages; run the "
                                                    "command yourself to browse.", ephemeral=True)
            return False
        return True

    async def _show(self, interaction: discord.Interaction) -> None:
        self._sync_buttons()
        await interaction.response.edit_message(embeds=embeds_of(self.pages[self.index]), view=self)

    @discord.ui.button(label="◀ Previous", style=discord.ButtonStyle.secondary, custom_id="sitrep:prev")
    async def previous(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        self.index = max(0, self.index - 1)
        await self._show(interaction)

    @discord.ui.button(label="Next ▶", style=discord.ButtonStyle.secondary, custom_id="sitrep:next")
    async def next(self, interaction: discord.Interaction, button: discord.ui.Button[Pager]) -> None:
        self.index = min(len(self.pages) - 1, self.index + 1)
        await self._show(interaction)

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(view=self)


async def send_answer(interaction: discord.Interaction, answer: Answer, *, ephemeral: bool = False,
                      files: list[discord.File] | None = None) -> None:
    """The answer's first page (with any files attached), and page buttons when there are more pages.
    Files stay on the message when the pages are turned."""
    pages = render_embeds(answer)
    kwargs: dict[str, Any] = {"embeds": embeds_of(pages[0]), "allowed_mentions": NO_MENTIONS}
    if files:
        kwargs["files"] = files
    view = Pager(pages, interaction.user.id) if len(pages) > 1 else None
    if view is not None:
        kwargs["view"] = view
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
    if view is not None:
        view.message = await interaction.original_response()
