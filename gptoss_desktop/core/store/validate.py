"""Strict checks of untrusted JSON (chat and comparison imports) before anything is written.

An import file is hostile until proven otherwise: it may nest 100,000 levels deep (Python's
``json`` and every recursive walk then raise ``RecursionError``), hold numbers no clock can
show (``1e300`` as a time breaks every later date format), or put lists where ids belong.
:func:`load_json` refuses text that is too large or too deep *before* parsing it;
:func:`check_tree` walks a parsed value without recursion and bounds its depth and size, and
refuses non-finite numbers and non-text keys. The field checks (:func:`timestamp`,
:func:`whole_number`, :func:`text`) say in one line what is wrong and where.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from gptoss_desktop.core.errors import StoreError

MAX_IMPORT_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 32  # the exports nest 5 levels; function tool schemas a few more
MAX_NODES = 5_000_000
MAX_TIME = 7_258_118_400.0  # 2200-01-01 UTC: any later "time" is damage, not a date
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


class ImportRefused(StoreError):
    """An import file failed a check; nothing was written."""


def refuse(kind: str, problem: str) -> ImportRefused:
    return ImportRefused(f"This file is not a valid gptoss-desktop {kind} export: {problem}.")


def max_depth_of_text(text: str) -> int:
    """How deep ``[`` and ``{`` nest in JSON text (brackets inside strings do not count)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    depth = deepest = 0
    for ch in brackets:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json(text: str | bytes, kind: str) -> object:
    """Parse import text after checking its size and nesting depth."""
    if len(text) > MAX_IMPORT_BYTES:
        raise refuse(kind, f"it is larger than {MAX_IMPORT_BYTES // 1024**2} MiB")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise refuse(kind, f"it is not UTF-8 text ({exc.reason})") from None
    if max_depth_of_text(text) > MAX_DEPTH:
        raise refuse(kind, f"it nests deeper than {MAX_DEPTH} levels")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise refuse(kind, f"it is not JSON ({exc})") from None


def check_tree(value: object, kind: str, what: str = "it") -> None:
    """Refuse ``value`` unless it is plain, finite JSON data of bounded depth and size."""
    stack: list[tuple[object, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise refuse(kind, f"{what} holds more than {MAX_NODES} values")
        if isinstance(item, Mapping):
            children: Any = item.values()
            if not all(isinstance(k, str) for k in item):
                raise refuse(kind, f"{what} has an object key that is not text")
        elif isinstance(item, list | tuple):
            children = item
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise refuse(kind, f"{what} holds a number that is not finite")
            continue
        elif item is None or isinstance(item, str | int | bool):
            continue
        else:
            raise refuse(kind, f"{what} holds a {type(item).__name__}, which is not JSON")
        if depth >= MAX_DEPTH:
            raise refuse(kind, f"{what} nests deeper than {MAX_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


def timestamp(value: object, kind: str, what: str) -> float:
    """A time in seconds since 1970, between 1970 and 2200."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise refuse(kind, f"{what} must be a number")
    if not math.isfinite(value) or not 0 <= value <= MAX_TIME:
        raise refuse(kind, f"{what} is not a time between 1970 and 2200 ({value!r:.30})")
    return float(value)


def whole_number(value: object, kind: str, what: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise refuse(kind, f"{what} must be a whole number from {low} to {high}")
    return value


def text(value: object, kind: str, what: str, *, optional: bool = False, limit: int = 0) -> Any:
    """``value`` if it is text (or None when ``optional``) of at most ``limit`` characters."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise refuse(kind, f"{what} must be text{' or null' if optional else ''}")
    if limit and len(value) > limit:
        raise refuse(kind, f"{what} is longer than {limit} characters")
    return value
