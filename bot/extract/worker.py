"""Extraction off the event loop, in a worker process that keeps the English pipeline loaded.

The parser holds the GIL while it parses, so extraction in a thread of the bot's own process would still
stall its event loop (interactions, heartbeats). :class:`ExtractionWorker` runs :class:`Extractor` in one
child process, started with ``spawn`` (a clean interpreter: no inherited threads, sockets or event loop),
which loads and checks the pipeline once; the bot's loop only sends the text and receives the facts.

:class:`InlineExtraction` keeps the same asynchronous face with the extractor in a thread of this process:
for tests and one-off tools where a second interpreter costs more than it saves.

Both are closed by their owner (``close()``): the worker process ends with the bot, never orphaned.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import date, datetime
from typing import Protocol, TypeVar

from bot.extract._pipeline import Extractor
from bot.model import Fact

log = logging.getLogger(__name__)
T = TypeVar("T")


class Extraction(Protocol):
    """What the poller needs: facts from one article's text, without blocking the event loop."""

    async def extract(self, text: str, *, published: datetime | date | None = None,
                      title: str | None = None, countries: Sequence[str] = ()) -> list[Fact]: ...

    async def countries_named(self, names: Sequence[str]) -> tuple[str, ...]: ...

    def close(self) -> None: ...


class InlineExtraction:
    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor

    async def extract(self, text: str, *, published: datetime | date | None = None,
                      title: str | None = None, countries: Sequence[str] = ()) -> list[Fact]:
        return await asyncio.to_thread(self.extractor.extract, text, published=published, title=title,
                                       countries=countries)

    async def countries_named(self, names: Sequence[str]) -> tuple[str, ...]:
        return self.extractor.countries_named(names)

    def close(self) -> None:
        pass


_extractor: Extractor | None = None  # the worker process's own extractor, made once by _start


def _start(actors: Mapping[str, Sequence[str]] | None, places: Mapping[str, Sequence[str]] | None) -> None:
    global _extractor  # noqa: PLW0603 - one per worker process, by design
    _extractor = Extractor(actors, places)


def _extract(text: str, published: datetime | date | None, title: str | None,
             countries: Sequence[str]) -> list[Fact]:
    assert _extractor is not None, "the worker was started without its extractor"
    return _extractor.extract(text, published=published, title=title, countries=countries)


def _countries_named(names: tuple[str, ...]) -> tuple[str, ...]:
    assert _extractor is not None, "the worker was started without its extractor"
    return _extractor.countries_named(names)


class ExtractionWorker:
    def __init__(self, actors: Mapping[str, Sequence[str]] | None = None,
                 places: Mapping[str, Sequence[str]] | None = None) -> None:
        self._initargs = ({k: list(v) for k, v in (actors or {}).items()},
                          {k: list(v) for k, v in (places or {}).items()})
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                   initargs=self._initargs)

    async def _call(self, fn: Callable[..., T], *args: object) -> T:
        """One call in the worker. A worker that died (killed, out of memory) is replaced once and the call
        made again: the article is extracted, not lost; a second death is raised to the caller."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, fn, *args)
        except BrokenProcessPool:
            log.error("the extraction worker process died; starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            return await loop.run_in_executor(self._pool, fn, *args)

    async def extract(self, text: str, *, published: datetime | date | None = None,
                      title: str | None = None, countries: Sequence[str] = ()) -> list[Fact]:
        return await self._call(_extract, text, published, title, tuple(countries))

    async def countries_named(self, names: Sequence[str]) -> tuple[str, ...]:
        """Answered by the worker, which holds the gazetteer (this process does not load it)."""
        return await self._call(_countries_named, tuple(names))

    async def warm(self) -> None:
        """Starts the process and loads the pipeline now, not on the first article (a model error shows here)."""
        await self.extract("")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
