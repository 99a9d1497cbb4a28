"""A turn's trace as JSON and as plain text (copy, export). Qt-free."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gptoss_desktop.core.paths import write_private_text
from gptoss_desktop.ui.tools.raw import spans_text
from gptoss_desktop.ui.tools.trace import (
    NOTICE,
    TOOL_CALL,
    TOOL_RESULT,
    USER,
    TraceEntry,
    TurnTrace,
)

FORMAT = "gptoss-desktop.tool-trace/1"


def trace_to_dict(trace: TurnTrace) -> dict[str, Any]:
    """Everything the panel shows, as plain JSON data."""
    entries = []
    for entry in trace.entries:
        d = asdict(entry)
        d.pop("version")
        d["links"] = [{"label": label, "url": url} for label, url in entry.links]
        d["malformed"] = list(entry.malformed)
        d["duration_s"] = entry.duration_s
        entries.append(d)
    return {
        "format": FORMAT,
        "user": trace.user_text,
        "started_at": _iso(trace.started_at),
        "stop_reason": trace.stop_reason,
        "error": trace.error,
        "status": trace.status_line(),
        "tool_calls": trace.calls,
        "max_tool_calls": trace.max_calls,
        "entries": entries,
        "generations": [
            {
                "prompt_tokens": g.prompt_tokens,
                "cached_tokens": g.cached_tokens,
                "completion_tokens": g.completion_tokens,
                "prompt": spans_text(g.prompt),
                "completion": spans_text(g.completion),
                "metrics": g.metrics,
            }
            for g in trace.generations
        ],
    }


def _iso(t: float) -> str | None:
    if not t:
        return None
    return dt.datetime.fromtimestamp(t, dt.UTC).isoformat(timespec="seconds")


def entry_heading(entry: TraceEntry) -> str:
    """``assistant · commentary → functions.get_weather · <|constrain|>json``-style heading."""
    if entry.kind == USER:
        return "user"
    if entry.kind == NOTICE:
        return "app notice"
    parts = [entry.author]
    if entry.channel:
        parts.append(entry.channel)
    head = " · ".join(parts)
    if entry.recipient and entry.recipient != "all":
        head += f" → {entry.recipient}"
    if entry.content_type:
        head += f" · {entry.content_type}"
    return head


def entry_facts(entry: TraceEntry) -> list[str]:
    """Timings, approval and flags of an entry, in words."""
    facts: list[str] = []
    if entry.duration_s is not None and entry.kind != USER:
        facts.append(f"{entry.duration_s:.2f} s")
    if entry.tokens:
        facts.append(f"{entry.tokens} tokens")
    if entry.kind == TOOL_CALL:
        if entry.approval:
            facts.append(entry.approval)
        if entry.waited_s is not None and entry.status != "awaiting approval":
            facts.append(f"waited {entry.waited_s:.1f} s for you")
        if entry.status:
            facts.append(entry.status)
    if entry.kind == TOOL_RESULT:
        if entry.untrusted:
            facts.append("UNTRUSTED tool output")
        if entry.source:
            facts.append(f"source: {entry.source}")
        if entry.status == "denied":
            facts.append("not run: denied")
        elif entry.is_error:
            facts.append("error")
    if entry.malformed:
        facts.append("malformed: " + "; ".join(m.split(":", 1)[0] for m in entry.malformed))
    return facts


def trace_to_text(trace: TurnTrace, *, raw: bool = True) -> str:
    """A readable transcript of the turn; with ``raw`` the exact prompts and completions too."""
    lines = [f"Turn {_iso(trace.started_at) or ''} · {trace.status_line()}".rstrip()]
    for entry in trace.entries:
        facts = entry_facts(entry)
        lines.append("")
        lines.append(f"[{entry_heading(entry)}]" + (f" ({'; '.join(facts)})" if facts else ""))
        if entry.kind == TOOL_CALL and entry.arguments is not None:
            lines.append(entry.arguments)
            if entry.ran_with is not None:
                lines.append("ran with the user's edit:")
                lines.append(entry.ran_with)
        else:
            lines.append(entry.text)
        for label, url in entry.links:
            lines.append(f"  cites {label} <{url}>")
    if raw:
        for number, g in enumerate(trace.generations, 1):
            lines.append("")
            lines.append(
                f"--- generation {number}: prompt {g.prompt_tokens} tokens "
                f"({g.cached_tokens} cached), completion {g.completion_tokens} tokens ---"
            )
            lines.append(spans_text(g.prompt) + spans_text(g.completion))
    return "\n".join(lines) + "\n"


def export_trace(trace: TurnTrace, path: Path) -> Path:
    """Write the trace to ``path``: JSON for ``.json``, text otherwise."""
    if path.suffix.lower() == ".json":
        text = json.dumps(trace_to_dict(trace), indent=2, ensure_ascii=False)
    else:
        text = trace_to_text(trace)
    write_private_text(path, text)
    return path
