"""Durable files: TinyDB's JSON format, written atomically, read strictly.

Every file is written once under a new name (temp file, flush, fsync, ``os.replace``, directory fsync)
and never rewritten in place, so a kill at any moment leaves either the old file or the new one, never
half of one. The manifest (see _disk.py) names which generation of each file is current.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from bot.errors import StoreError


class MissingFile(StoreError):
    """A file the manifest names is missing: corruption for a writer, maybe a commit racing a reader."""


class AtomicJSONStorage(Storage):
    """A TinyDB storage that reads strictly (a corrupt file is an error, never an empty database) and
    writes atomically. TinyDB's own JSONStorage truncates and rewrites the file in place: a kill in the
    middle of that leaves a corrupt file."""

    def __init__(self, path: str | Path, **_: Any) -> None:
        self.path = Path(path)

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise StoreError(f"store file {self.path} is corrupt ({exc}); it was left untouched") from None
        if not isinstance(data, dict):
            raise StoreError(f"store file {self.path} is corrupt (not a TinyDB document); it was left untouched")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        write_atomic(self.path, json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())

    def close(self) -> None:
        pass


def read_tables(path: Path, *, at_once: bool = False, skip: Skip | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every table of a TinyDB file, as lists of documents.

    What TinyDB(path, storage=AtomicJSONStorage).table(name).all() returns, without copying every document
    into a tinydb Document, and parsed one document at a time: ``json.loads`` of a whole partition holds the
    GIL for its whole run (80 ms for a week at a million facts), stalling the event loop while a worker
    thread reads an old partition; between two documents other threads get their turn. ``at_once`` parses
    the whole file in one call (three times faster): for opening the store, before anything else runs.
    ``skip(table, document, tables so far)`` drops documents as they are parsed (a read that wants a few
    facts of a week does not hold all of them at once)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:  # TinyDB would read a missing file as an empty database
        raise MissingFile(f"store file {path}, named by the manifest, is missing; "
                          f"the store was left untouched") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        return _tables_of(json.loads(raw)) if at_once else _parse_tables(raw.decode("utf-8"), skip)
    except _NotTinyDB as exc:
        raise StoreError(f"store file {path} is corrupt ({exc}); left untouched") from None
    except (ValueError, IndexError) as exc:
        raise StoreError(f"store file {path} is corrupt ({exc}); it was left untouched") from None


Skip = Callable[[str, Any, dict[str, list[dict[str, Any]]]], bool]


class _NotTinyDB(ValueError):
    pass


_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _tables_of(data: Any) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(data, dict):
        raise _NotTinyDB("not a TinyDB document")
    if not all(isinstance(table, dict) for table in data.values()):
        raise _NotTinyDB("a table is not a TinyDB table")
    return {name: list(table.values()) for name, table in data.items()}


def _parse_tables(text: str, skip_doc: Skip | None = None) -> dict[str, list[dict[str, Any]]]:
    """``{"table": {"1": doc, ...}, ...}`` → ``{"table": [doc, ...]}``, one ``raw_decode`` per document."""
    decode = _DECODER.raw_decode

    def skip(i: int) -> int:
        match = _SPACE.match(text, i)
        return match.end() if match else i

    def expect(i: int, char: str) -> int:
        i = skip(i)
        if text[i:i + 1] != char:
            raise ValueError(f"expected {char!r} at character {i}")
        return skip(i + 1)

    i = skip(0)
    if text[i:i + 1] != "{":
        raise _NotTinyDB("not a TinyDB document")
    i = skip(i + 1)
    tables: dict[str, list[dict[str, Any]]] = {}
    while text[i:i + 1] != "}":
        name, i = decode(text, i)
        i = expect(i, ":")
        if not isinstance(name, str) or text[i:i + 1] != "{":
            raise _NotTinyDB("a table is not a TinyDB table")
        i = skip(i + 1)
        docs: list[dict[str, Any]] = []
        while text[i:i + 1] != "}":
            _, i = decode(text, i)  # the document id
            i = expect(i, ":")
            doc, i = decode(text, i)
            if skip_doc is None or not skip_doc(name, doc, tables):
                docs.append(doc)
            i = skip(i)
            if text[i:i + 1] == ",":
                i = skip(i + 1)
            elif text[i:i + 1] != "}":
                raise ValueError(f"expected ',' or '}}' at character {i}")
        tables[name] = docs
        i = skip(i + 1)
        if text[i:i + 1] == ",":
            i = skip(i + 1)
        elif text[i:i + 1] != "}":
            raise ValueError(f"expected ',' or '}}' at character {i}")
    if skip(i + 1) != len(text):
        raise ValueError(f"extra data at character {i + 1}")
    return tables


def dump_tables(tables: dict[str, list[dict[str, Any]]]) -> bytes:
    """Documents as the bytes of a TinyDB file (tables of ``{"1": doc, ...}``)."""
    payload = {name: {str(i): doc for i, doc in enumerate(docs, 1)} for name, docs in tables.items()}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def write_tables(path: Path, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Write documents as a TinyDB file, atomically and durably."""
    write_atomic(path, dump_tables(tables))


def write_atomic(path: Path, data: bytes | list[bytes | memoryview]) -> None:
    """Write ``data`` (bytes, or chunks written one after the other: a big file need not be joined in
    memory first) as ``path``: temp file, fsync, replace, fsync of the directory."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            for chunk in data if isinstance(data, list) else [data]:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}; nothing was changed") from exc


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
