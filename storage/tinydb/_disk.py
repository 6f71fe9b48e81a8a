"""The TinyDB driver's files (see storage/DESIGN.md, "Layout on disk" and "Recovery on open"): loading the
manifest and what it names into memory, writing new generations with the manifest last (the commit point),
and collecting the files no manifest names."""

from __future__ import annotations

import contextlib
import gc
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import StoreError
from bot.model import GuildSettings, SourceState, Topic
from storage import _codec
from storage._state import State
from storage.tinydb import _files, _summary
from storage.tinydb._layout import MANIFEST, OPEN_WEEKS, PART_FILE, SCHEMA_VERSION, STATE, SUM
from storage.tinydb._partitions import Partitions
from storage.tinydb._summary import Summary


def load(parts: Partitions, manifest_path: Path) -> State:
    """Read the manifest and what it names into ``parts`` (empty): the state (returned), every summary, the
    first weeks of the window. Raises StoreError, touching nothing, on a newer schema or a corrupt file."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        schema = int(manifest["schema"])
        files = dict(manifest["files"])
        generation = int(manifest["generation"])
        last_seq = int(manifest["last_seq"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StoreError(f"store manifest {manifest_path} is corrupt ({exc}); it was left untouched") from None
    if schema > SCHEMA_VERSION:
        raise StoreError(f"the store in {parts.data_dir} has schema version {schema}, newer than this "
                         f"Sitrep understands ({SCHEMA_VERSION}); upgrade Sitrep (nothing was changed)")
    if not all(isinstance(v, str) for v in files.values()):
        raise StoreError(f"store manifest {manifest_path} is corrupt (a file name is not a string); "
                         f"it was left untouched")
    # Loading creates many objects and no cycles: the cyclic collector would walk the growing heap again
    # and again for nothing (about 40% of the load time at 100k facts).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        state, summarised = _load_files(parts, files)
    finally:
        if gc_was_enabled:
            gc.enable()
    parts.generation = generation
    parts.last_seq = max([last_seq, *(s.max_seq for s in parts.summaries.values())])
    if not parts.read_only:  # a reader must never remove what a writer is writing
        if summarised:  # schema 1 → 2: write the summaries it lacked (a commit of summaries only)
            _write_summaries(parts, summarised)
        collect_garbage(parts)
    return state


def _load_files(parts: Partitions, files: dict[str, str]) -> tuple[State, dict[str, Summary]]:
    """Load the state, every summary and the recent partitions; return the state and the summaries that had
    to be computed (partitions of schema 1, which had none). Raises StoreError, writing nothing."""
    for name in files.values():
        if not (parts.data_dir / name).is_file():  # TinyDB would read a missing file as an empty database
            raise _files.MissingFile(f"store file {parts.data_dir / name}, named by the manifest, is missing; "
                                     f"the store was left untouched")
    names = sorted(p for p in files if p != STATE and not p.endswith(SUM))
    parts.files = {p: files[p] for p in [STATE, *names, *(p + SUM for p in names)] if p in files}
    state: State = ({}, {}, {})
    if STATE in files:
        path = parts.data_dir / files[STATE]
        try:
            state = _load_state(_files.read_tables(path))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"store file {path} is corrupt ({exc!r}); it was left untouched") from None
    now = datetime.now(UTC)
    computed: dict[str, Summary] = {}
    for part in names:
        path = parts.data_dir / files[part]
        size = path.stat().st_size
        summary = None
        if part + SUM in files:
            sum_path = parts.data_dir / files[part + SUM]
            try:
                summary = _summary.decode(_files.read_tables(sum_path))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise StoreError(f"store file {sum_path} is corrupt ({exc!r}); it was left untouched") from None
            if summary.size != size:
                raise StoreError(f"store file {path} is corrupt (its size is {size} bytes, its summary says "
                                 f"{summary.size}); it was left untouched")
        if summary is not None and not parts.is_hot(part, now, weeks=min(parts.hot_weeks, OPEN_WEEKS)):
            parts.summaries[part] = summary
            if parts.is_hot(part, now):
                parts.pending.append(part)  # loaded by warm_search, off the event loop
            continue
        loaded = parts.read_part(part, files[part], at_once=True)
        if summary is None:
            summary = _summary.summarise(loaded.articles.values(), loaded.index.facts(), loaded.words(), size)
            computed[part] = summary
        parts.summaries[part] = summary
        if parts.is_hot(part, now):
            parts.load_hot(loaded)
    return state, computed


def _write_summaries(parts: Partitions, summaries: dict[str, Summary]) -> None:
    generation = parts.generation + 1
    files = dict(parts.files)
    payloads: dict[str, Any] = {}
    for part, summary in summaries.items():
        name = f"{part}{SUM}.g{generation}.json"
        payloads[name] = _files.dump_tables(_summary.encode(summary))
        files[part + SUM] = name
    payloads[MANIFEST] = {"schema": SCHEMA_VERSION, "generation": generation, "files": files,
                          "last_seq": parts.last_seq}
    write(parts.data_dir, payloads)
    parts.generation, parts.files = generation, files


def _load_state(tables: dict[str, list[dict[str, Any]]]) -> State:
    sources: dict[str, SourceState] = {}
    topics: dict[str, Topic] = {}
    guilds: dict[int, GuildSettings] = {}
    for doc in tables.get("sources", []):
        source = _codec.decode(SourceState, doc)
        sources[source.id] = source
    for doc in tables.get("topics", []):
        topic = _codec.decode(Topic, doc)
        topics[topic.key] = topic
    for doc in tables.get("guilds", []):
        guild = _codec.decode(GuildSettings, doc)
        guilds[guild.guild_id] = guild
    return sources, topics, guilds


def write(data_dir: Path, payloads: dict[str, Any]) -> None:
    """Write new generations of the touched files (bytes), then the manifest (the commit point)."""
    manifest = payloads.pop(MANIFEST)
    written: list[Path] = []
    try:
        for name, data in payloads.items():
            written.append(data_dir / name)
            _files.write_atomic(data_dir / name, data)
        _files.write_atomic(data_dir / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
    except StoreError:
        for path in written:  # never named by a manifest: a failed commit leaves no files behind
            with contextlib.suppress(OSError):
                path.unlink()
        raise


def collect_garbage(parts: Partitions) -> None:
    """Remove partition files the manifest does not name: old generations, and new ones a crash left
    before its manifest was written. Only files of our own naming pattern are ever removed."""
    current = set(parts.files.values())
    with contextlib.suppress(OSError):
        for path in parts.data_dir.iterdir():
            if (PART_FILE.fullmatch(path.name) and path.name not in current) or (
                    path.name.startswith(".") and path.name.endswith(".tmp")):
                with contextlib.suppress(OSError):
                    path.unlink()
