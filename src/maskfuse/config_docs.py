"""Each config key with its default, its type and its description, for `maskfuse config show`,
`pretrain --help` and the docs' config reference.

The description is the comment written beside the field in `config.py` (and the comment lines
that continue it), so the one place defaults live is also the one place they are explained.
The source is read with `tokenize`, which sees comments exactly as Python does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import io
import tokenize
import typing
from dataclasses import dataclass
from typing import Any

from maskfuse.config import Config
from maskfuse.errors import ConfigError, did_you_mean
from maskfuse.overrides import plain


@dataclass(frozen=True)
class Setting:
    key: str  # dotted, as typed on the command line: train.steps
    default: Any  # plain value (lists for tuples), as `Config().to_dict()` holds it
    type: str  # the annotation as written: int | None
    description: str


def field_comments(cls: type) -> dict[str, str]:
    """Field name -> its comment, joined with the comment-only lines right below it (a
    field inherited from a base class: the comment in that class's source)."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass) and klass.__dict__.get("__dataclass_fields__"):
            with contextlib.suppress(OSError, TypeError):  # a class made at run time (config.Config) has no source
                comments.update(_comments_in(klass))
    return comments


def _comments_in(cls: type) -> dict[str, str]:
    tokens = tokenize.generate_tokens(io.StringIO(inspect.getsource(cls)).readline)
    comments: dict[str, str] = {}
    field, at_line_start, names = None, True, {f.name for f in dataclasses.fields(cls)}
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            if field is not None:
                comments[field] = f"{comments.get(field, '')} {tok.string.lstrip('#').strip()}".strip()
        elif tok.type == tokenize.NAME and at_line_start:
            field = tok.string if tok.string in names else None
        if tok.type in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT):
            at_line_start = True
        elif tok.type not in (tokenize.INDENT, tokenize.DEDENT):
            at_line_start = False
    return comments


def settings(config: Config | None = None) -> list[Setting]:
    """Every leaf key of `config` (the defaults when None), in the dataclasses' order."""
    found: list[Setting] = []

    def walk(obj: Any, prefix: str) -> None:
        cls = type(obj)
        notes = field_comments(cls)
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                walk(value, f"{prefix}{f.name}.")
            else:
                kind = f.type if isinstance(f.type, str) else getattr(hints[f.name], "__name__", str(hints[f.name]))
                found.append(Setting(f"{prefix}{f.name}", plain(value), kind, notes.get(f.name, "")))

    walk(config or Config(), "")
    return found


def pick(all_settings: list[Setting], key: str) -> list[Setting]:
    """The settings at `key`: one leaf (train.steps) or a whole section (train)."""
    chosen = [s for s in all_settings if s.key == key or s.key.startswith(key + ".")]
    if not chosen:
        known = sorted({s.key for s in all_settings} | {s.key.split(".")[0] for s in all_settings})
        raise ConfigError(f"unknown config key '{key}'{did_you_mean(key, known)}; see `maskfuse config show`")
    return chosen
