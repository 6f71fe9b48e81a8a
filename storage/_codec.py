"""Dataclasses ⇄ JSON-ready dicts. Strict: a value that JSON cannot hold is refused before any write."""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from collections.abc import Callable
from datetime import datetime
from functools import cache
from typing import Any

from bot.errors import StoreError
from bot.model import Article, Casualty, Event, Fact, GuildSettings, SourceState, Territory, Topic

_SCALARS = (str, int, float, bool, type(None))


def encode(obj: Any) -> Any:
    """A dataclass (or value) as JSON-ready data: datetimes as ISO strings, tuples as lists."""
    if isinstance(obj, _SCALARS):
        return obj
    if isinstance(obj, datetime):
        if obj.tzinfo is None:
            raise StoreError(f"refusing to store a naive datetime ({obj.isoformat()}): times must be UTC-aware")
        return obj.isoformat()
    if isinstance(obj, (list, tuple)):
        return [encode(v) for v in obj]
    if isinstance(obj, dict):
        if not all(isinstance(k, str) for k in obj):
            raise StoreError("refusing to store a mapping with non-string keys")
        return {k: encode(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: encode(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    raise StoreError(f"refusing to store a value of type {type(obj).__name__}: it cannot be serialised")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


SHORT = 40  # strings up to this length are interned when decoded: sides, claimants, places, categories,
# dates and topics repeat across thousands of facts, and one copy each saves ~15% of a loaded week's memory.


def short(value: Any) -> Any:
    return sys.intern(value) if type(value) is str and len(value) <= SHORT else value


def decode(cls: type, data: dict[str, Any]) -> Any:
    """The inverse of :func:`encode` for the model's dataclasses (unknown keys are ignored, missing ones
    take the field's default; a missing required one raises KeyError)."""
    return _decoder(cls)(data)


@cache
def _decoder(cls: type) -> Callable[[dict[str, Any]], Any]:
    """A decoding function written for ``cls`` once, with one expression per field: a generic loop over
    the fields, a dict of keyword arguments and a call per value made decoding most of a cold start."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    env: dict[str, Any] = {"_cls": cls, "_intern": sys.intern, "_value": _decode_value}
    args = []
    for i, (name, plain, hint) in enumerate(_plan(cls)):
        field = fields[name]
        if field.default is not dataclasses.MISSING:
            env[f"_d{i}"] = field.default
            get = f"data.get({name!r}, _d{i})"
        elif field.default_factory is not dataclasses.MISSING:
            env[f"_f{i}"] = field.default_factory
            get = f"(data[{name!r}] if {name!r} in data else _f{i}())"
        else:
            get = f"data[{name!r}]"
        if plain:
            expr = f"(_intern(_v{i}) if type(_v{i} := {get}) is str and len(_v{i}) <= {SHORT} else _v{i})"
        else:
            env[f"_h{i}"] = hint
            expr = f"_value(_h{i}, {get})"
        args.append(f"{name}={expr}")
    source = f"def decode(data):\n    return _cls({', '.join(args)})\n"
    exec(compile(source, f"<decoder of {cls.__name__}>", "exec"), env)  # our own field names only
    return env["decode"]  # type: ignore[no-any-return]


@cache
def _plan(cls: type) -> tuple[tuple[str, bool, Any], ...]:
    """Per init field: (name, whether JSON already holds the value as is, type hint). Worked out once per
    class: decoding is most of a cold start."""
    hints = _hints(cls)
    return tuple((f.name, _is_plain(hints[f.name]), hints[f.name]) for f in dataclasses.fields(cls) if f.init)


def _is_plain(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return all(_is_plain(a) for a in typing.get_args(hint) if a is not type(None))
    return hint is not datetime and origin is not tuple and not dataclasses.is_dataclass(hint)


def _decode_value(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode_value(args[0], value) if len(args) == 1 else value
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):  # a nested record (a fact's Place)
        return decode(hint, value)
    if origin is tuple:
        return tuple(sys.intern(v) if type(v) is str and len(v) <= SHORT else v for v in value)
    return value


def encode_fact(fact: Fact) -> dict[str, Any]:
    data: dict[str, Any] = encode(fact)
    data["kind"] = fact.kind
    return data


# A fact's "kind" → its dataclass. A new kind of fact is one more entry; a document without a known kind
# is an Event (what version 0 stored).
FACT_TYPES: dict[str, type] = {"casualty": Casualty, "event": Event, "territory": Territory}


def kind_of(data: dict[str, Any]) -> str:
    """The kind :func:`decode_fact` will give this document, without decoding it."""
    kind = data.get("kind")
    return kind if isinstance(kind, str) and kind in FACT_TYPES else "event"


def decode_fact(data: dict[str, Any]) -> Fact:
    return decode(FACT_TYPES[kind_of(data)], data)  # type: ignore[no-any-return]


RECORD_TYPES: dict[str, type] = {
    "articles": Article, "sources": SourceState, "topics": Topic, "guilds": GuildSettings,
}
