"""MCP tools to Harmony function tools, and MCP results to the text the model reads.

Qt-free, no SDK import. gpt-oss was trained to call tools in the developer message's
``functions`` namespace, so every server's tools go there: a tool keeps its own name
(sanitized to letters, digits and ``_``) unless its server config gives a ``prefix`` or the
name is already taken by another server or a function tool, in which case the server's name
is put before it (``time_get_current_time``). Schemas are made readable for the TypeScript-like
renderer (``$ref`` inlined, ``anyOf`` turned into ``oneOf``, ``null`` variants dropped,
pydantic's automatic titles removed) and descriptions are bounded in length.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gptoss_desktop.core.tools.functions import FunctionSpec

MAX_DESCRIPTION = 1024  # characters of a tool's description the model reads
MAX_PROPERTY_DESCRIPTION = 300
MAX_SCHEMA_DEPTH = 8
MAX_NAME = 64
_BAD = re.compile(r"[^A-Za-z0-9_]+")


@dataclass(frozen=True)
class McpTool:
    """One tool a server offers, as listed (SDK-free)."""

    server: str
    name: str
    description: str = ""
    input_schema: Mapping[str, Any] | None = None
    title: str | None = None
    read_only: bool | None = None
    destructive: bool | None = None


@dataclass(frozen=True)
class ExposedTool:
    """An MCP tool as the model sees it: its function name and spec."""

    function: str
    tool: McpTool
    spec: FunctionSpec


def sanitize_name(name: str) -> str:
    """A Harmony function name: letters, digits and ``_``, not starting with a digit."""
    out = _BAD.sub("_", name).strip("_") or "tool"
    if out[0].isdigit():
        out = "t_" + out
    return out[:MAX_NAME]


def bound(text: str, limit: int) -> str:
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def expose(
    tools: Iterable[McpTool],
    *,
    taken: Iterable[str] = (),
    prefixes: Mapping[str, str | None] | None = None,
) -> list[ExposedTool]:
    """Function names and specs for the tools of several servers, unique among themselves
    and with ``taken`` (names already in the developer message)."""
    used = set(taken)
    out: list[ExposedTool] = []
    for tool in tools:
        prefix = (prefixes or {}).get(tool.server)
        base = sanitize_name((prefix or "") + tool.name)
        name = base
        if name in used:
            name = sanitize_name(f"{tool.server}_{tool.name}")
        n = 2
        while name in used:
            name = f"{base[: MAX_NAME - 4]}_{n}"
            n += 1
        used.add(name)
        description = bound(tool.description or tool.title or "", MAX_DESCRIPTION)
        out.append(
            ExposedTool(
                name, tool, FunctionSpec(name, description, to_harmony_schema(tool.input_schema))
            )
        )
    return out


def to_harmony_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """An MCP input schema in the shape the Harmony renderer reads well."""
    if not isinstance(schema, Mapping):
        return {"type": "object", "properties": {}}
    defs: dict[str, Any] = {}
    for key in ("$defs", "definitions"):
        if isinstance(schema.get(key), Mapping):
            defs.update(schema[key])
    out = _clean(schema, defs, 0, ())
    if not isinstance(out, dict) or out.get("type") != "object":
        return {"type": "object", "properties": {}}
    out.pop("description", None)  # the tool's description says it; the renderer would repeat it
    out.setdefault("properties", {})
    return out


_DROP = {"$defs", "definitions", "$schema", "$id", "title", "additionalProperties", "$comment"}


def _clean(node: Any, defs: Mapping[str, Any], depth: int, seen: tuple[str, ...]) -> Any:
    if not isinstance(node, Mapping):
        return node
    if depth > MAX_SCHEMA_DEPTH:
        return {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        key = ref.rsplit("/", 1)[-1]
        if key in seen or key not in defs:
            return {"type": "object"} if key in seen else {}
        merged = {**defs[key], **{k: v for k, v in node.items() if k != "$ref"}}
        return _clean(merged, defs, depth + 1, (*seen, key))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key in ("anyOf", "oneOf") and isinstance(value, list):
            variants = [
                _clean(v, defs, depth + 1, seen)
                for v in value
                if not (isinstance(v, Mapping) and v.get("type") == "null")
            ]
            if len(variants) == 1 and isinstance(variants[0], Mapping):
                out.update({k: v for k, v in variants[0].items() if k not in out})
            elif variants:
                out["oneOf"] = variants
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {str(k): _clean(v, defs, depth + 1, seen) for k, v in value.items()}
        elif key == "items":
            out[key] = _clean(value, defs, depth + 1, seen)
        elif key == "description" and isinstance(value, str):
            out[key] = bound(value, MAX_PROPERTY_DESCRIPTION)
        elif key == "type" and isinstance(value, list):
            kinds = [t for t in value if t != "null"]
            out[key] = kinds[0] if len(kinds) == 1 else kinds
        else:
            out[key] = value
    if "default" in out and out["default"] is None:
        del out["default"]
    return out


# --- results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedResult:
    """What the model reads, whether the tool said it failed, and what each part was."""

    text: str
    is_error: bool
    parts: tuple[str, ...]  # one line per content block, for the panel
    truncated: bool = False


def _size_of_base64(data: str) -> int:
    try:
        return len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        return len(data) * 3 // 4


def describe_block(block: Mapping[str, Any]) -> str:
    """A content block as text: text as is; images, audio and resources described."""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind in ("image", "audio"):
        size = _size_of_base64(str(block.get("data", "")))
        return f"[{kind}: {block.get('mimeType') or block.get('mime_type') or 'unknown type'}, {size} bytes; not shown to the model]"
    if kind == "resource_link":
        bits = [f"uri {block.get('uri')}"]
        for key, label in (("name", "name"), ("mimeType", "type"), ("size", "size")):
            if block.get(key) is not None:
                bits.append(f"{label} {block[key]}")
        if block.get("description"):
            bits.append(f"description: {bound(str(block['description']), 200)}")
        return "[resource link: " + ", ".join(bits) + "]"
    if kind == "resource":
        res = block.get("resource") or {}
        uri = res.get("uri")
        mime = res.get("mimeType") or "unknown type"
        if isinstance(res.get("text"), str):
            return f"[resource {uri} ({mime})]\n{res['text']}"
        size = _size_of_base64(str(res.get("blob", "")))
        return f"[resource {uri}: {mime}, {size} bytes of binary data; not shown to the model]"
    return f"[content of type {kind!r} that this app cannot show]"


def _loaded(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text


def _said(content: Sequence[Mapping[str, Any]], structured: Mapping[str, Any]) -> bool:
    """Whether the text blocks already say what the structured result holds (servers send
    both; the SDK wraps a plain return value as ``{"result": value}``)."""
    texts = [str(b.get("text", "")) for b in content if b.get("type") == "text"]
    wanted: list[Any] = [structured]
    if set(structured) == {"result"}:
        value = structured["result"]
        if isinstance(value, list) and all(isinstance(v, Mapping) and "type" in v for v in value):
            return True  # the content blocks themselves
        if isinstance(value, list) and [_loaded(t) for t in texts] == value:
            return True  # a list, one text block per item
        wanted.append(value)
    for text in texts:
        if any(text == w for w in wanted if isinstance(w, str)):
            return True
        try:
            parsed = json.loads(text)
        except (json.JSONDecodeError, ValueError):
            continue
        if any(parsed == w for w in wanted):
            return True
    return False


def render_result(
    content: Sequence[Mapping[str, Any]],
    structured: Mapping[str, Any] | None,
    is_error: bool,
    cap: int,
) -> RenderedResult:
    """The text of a ``tools/call`` result, capped at ``cap`` characters.

    Text blocks come first as they are; a structured result is added as JSON unless a text
    block already holds the same JSON (servers usually send both)."""
    parts = [describe_block(b) for b in content]
    if structured is not None and not _said(content, structured):
        parts.append(json.dumps(structured, ensure_ascii=False))
    text = "\n".join(parts) if parts else "(the tool returned nothing)"
    truncated = len(text) > cap
    if truncated:
        total = len(text)
        text = text[:cap] + f"\n[... output cut at {cap} of {total} characters]"
    summary = tuple(p.splitlines()[0][:120] if p else "" for p in parts)
    return RenderedResult(text, is_error, summary, truncated)
