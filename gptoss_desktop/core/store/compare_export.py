"""Export a comparison to Markdown (readable), JSON (complete, versioned; importable) and
CSV (one row of metrics per column).

Exports reveal the model of every column: they are made after voting.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Mapping
from typing import Any

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.export import details_block, fence, iso_time, metrics_line
from gptoss_desktop.core.store.records import (
    COLUMN_STATUSES,
    VOTE_OUTCOMES,
    ColumnSpec,
    Comparison,
    ComparisonColumn,
    JsonObject,
)
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.core.store.validate import check_tree, load_json, timestamp

COMPARISON_FORMAT = "gptoss-desktop/comparison"
COMPARISON_FORMAT_VERSION = 1
# Metrics first in this order (names of the engine's GenerationMetrics and compare's
# ColumnMetrics), then any others A-Z.
CSV_METRICS = (
    "ttft_s", "tokens_per_s", "completion_tokens", "tokens", "prompt_tokens", "prompt_evaluated",
    "prompt_tokens_per_s", "total_s", "load_s", "peak_rss_bytes", "stop_reason",
)  # fmt: skip
CSV_FIRST = ("comparison_id", "title", "created_at", "position", "model", "status", "error", "vote")


def column_vote(comparison: Comparison, column: ComparisonColumn) -> str:
    """How the vote treated a column: win, loss, tie, all_bad, not_shown, or '' (no vote)."""
    vote = comparison.vote
    if vote is None:
        return ""
    if column.position not in vote.shown_order:
        return "not_shown"
    if vote.outcome == "win":
        return "win" if vote.winner_position == column.position else "loss"
    return vote.outcome


def _vote_sentence(comparison: Comparison) -> str:
    vote = comparison.vote
    if vote is None:
        return "No vote yet."
    by_pos = {c.position: c.model for c in comparison.columns}
    shown = ", ".join(f"{by_pos[p]} (column {p + 1})" for p in vote.shown_order)
    verdict = {
        "win": f"**{by_pos.get(vote.winner_position or 0, '?')}** won",
        "tie": "a tie",
        "all_bad": "all shown answers were bad",
    }[vote.outcome]
    return f"Blind vote on {iso_time(vote.created_at)}: {verdict}. Shown left to right: {shown}."


def export_comparison_markdown(store: Store, comparison_id: int) -> str:
    comparison = store.comparisons.get(comparison_id)
    lines = [f"# {comparison.title}", "", f"- Created: {iso_time(comparison.created_at)}"]
    lines += [f"- {_vote_sentence(comparison)}", ""]
    if comparison.messages:
        history = "\n\n".join(
            f"**{str(m.get('role', '?')).capitalize()}:** {m.get('content', '')}"
            for m in comparison.messages
        )
        lines += [details_block("Conversation before the prompt", history), ""]
    lines += ["## Prompt", "", comparison.prompt, ""]
    for c in comparison.columns:
        lines += ["---", "", f"## Column {c.position + 1}: {c.model}", ""]
        status = c.status if not c.error else f"{c.status}: {c.error}"
        stats = metrics_line(c.metrics)
        lines += [f"*{status}{' · ' + stats if stats else ''}*", ""]
        if c.reasoning:
            lines += [details_block("Reasoning", c.reasoning), ""]
        lines += [c.output or "*(no output)*", ""]
        if c.settings:
            settings = json.dumps(c.settings, ensure_ascii=False, indent=2, sort_keys=True)
            lines += [details_block("Settings", fence(settings, "json")), ""]
    return "\n".join(lines).rstrip() + "\n"


def export_comparison_json(store: Store, comparison_id: int) -> JsonObject:
    c = store.comparisons.get(comparison_id)
    return {
        "format": COMPARISON_FORMAT,
        "version": COMPARISON_FORMAT_VERSION,
        "exported_at": time.time(),
        "comparison": {
            "title": c.title,
            "prompt": c.prompt,
            "messages": [dict(m) for m in c.messages],
            "created_at": c.created_at,
            "updated_at": c.updated_at,
        },
        "columns": [
            {
                "position": col.position,
                "model": col.model,
                "settings": col.settings,
                "output": col.output,
                "reasoning": col.reasoning,
                "metrics": col.metrics,
                "status": col.status,
                "error": col.error,
                "updated_at": col.updated_at,
            }
            for col in c.columns
        ],
        "vote": None
        if c.vote is None
        else {
            "created_at": c.vote.created_at,
            "shown_order": list(c.vote.shown_order),
            "outcome": c.vote.outcome,
            "winner_position": c.vote.winner_position,
        },
    }


def _csv_cell(value: object) -> object:
    """Numbers as they are; text that a spreadsheet would run as a formula gets a leading '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_comparisons_csv(store: Store, comparison_ids: list[int]) -> str:
    """One row per column of each comparison: identity, status, vote result and metrics."""
    comparisons = [store.comparisons.get(i) for i in comparison_ids]
    keys: set[str] = set()
    for comp in comparisons:
        for col in comp.columns:
            keys.update((col.metrics or {}).keys())
    metric_names = [k for k in CSV_METRICS if k in keys] + sorted(keys - set(CSV_METRICS))
    header = [*CSV_FIRST, *metric_names, "output_chars", "reasoning_chars"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for comp in comparisons:
        for col in comp.columns:
            metrics = col.metrics or {}
            row: list[object] = [
                comp.id, comp.title, iso_time(comp.created_at), col.position, col.model,
                col.status, col.error, column_vote(comp, col),
            ]  # fmt: skip
            row += [metrics.get(k) for k in metric_names]
            row += [len(col.output), len(col.reasoning)]
            writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def export_comparison_csv(store: Store, comparison_id: int) -> str:
    return export_comparisons_csv(store, [comparison_id])


# --- import ------------------------------------------------------------------------------------
def _bad(problem: str) -> StoreError:
    return StoreError(f"This file is not a valid gptoss-desktop comparison export: {problem}.")


def _num(value: object, what: str) -> float:
    return timestamp(value, "comparison", what)


def _position(col: object) -> int:
    pos = col.get("position", 0) if isinstance(col, Mapping) else 0
    return pos if isinstance(pos, int) and not isinstance(pos, bool) else -1


def import_comparison_json(store: Store, data: Mapping[str, Any] | str) -> Comparison:
    """Add an exported comparison (with its vote) as a new comparison."""
    parsed: object = load_json(data, "comparison") if isinstance(data, str | bytes) else data
    check_tree(parsed, "comparison")  # depth, size, finite numbers: before any field is looked at
    if not isinstance(parsed, Mapping) or parsed.get("format") != COMPARISON_FORMAT:
        raise _bad(f'it lacks "format": "{COMPARISON_FORMAT}"')
    version = parsed.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _bad("its version is missing")
    if version > COMPARISON_FORMAT_VERSION:
        raise StoreError(
            f"This comparison was exported by a newer gptoss-desktop (format {version}): update the app."
        )
    comp, columns, vote = parsed.get("comparison"), parsed.get("columns"), parsed.get("vote")
    if not isinstance(comp, Mapping) or not isinstance(columns, list):
        raise _bad('it needs a "comparison" object and a "columns" list')
    prompt, title, messages = comp.get("prompt"), comp.get("title"), comp.get("messages", [])
    if not isinstance(prompt, str) or not isinstance(title, str) or not isinstance(messages, list):
        raise _bad("the prompt, title or conversation is missing")
    if not all(isinstance(m, Mapping) for m in messages):
        raise _bad("a conversation message is not an object")
    cols = sorted(columns, key=_position)
    for i, col in enumerate(cols):
        if not isinstance(col, Mapping) or col.get("position") != i:
            raise _bad("the columns must be objects numbered 0, 1, ...")
        if not isinstance(col.get("model"), str) or col.get("status") not in COLUMN_STATUSES:
            raise _bad(f"column {i} has no model or an unknown status")
        if not isinstance(col.get("output", ""), str) or not isinstance(
            col.get("reasoning", ""), str
        ):
            raise _bad(f"column {i} output and reasoning must be text")
        if not isinstance(col.get("settings", {}), Mapping):
            raise _bad(f"column {i} settings must be an object")
        if col.get("metrics") is not None and not isinstance(col.get("metrics"), Mapping):
            raise _bad(f"column {i} metrics must be an object")
    if vote is not None and (
        not isinstance(vote, Mapping) or vote.get("outcome") not in VOTE_OUTCOMES
    ):
        raise _bad("the vote is not an object with a known outcome")
    created = _num(comp.get("created_at", time.time()), "created_at")
    _num(comp.get("updated_at", created), "updated_at")
    for col in cols:
        _num(col.get("updated_at", created), "column updated_at")
    order: list[int] = []
    if vote is not None:
        raw_order = vote.get("shown_order")
        if not isinstance(raw_order, list) or not all(
            _position({"position": p}) >= 0 for p in raw_order
        ):
            raise _bad("the vote's shown order must be a list of column numbers")
        order = raw_order
        _num(vote.get("created_at", created), "vote created_at")
    with store.db.transaction("import into"):
        new = store.comparisons.create(
            prompt,
            [ColumnSpec(str(c["model"]), c.get("settings", {})) for c in cols],
            messages=messages,
            title=title or None,
            created_at=created,
        )
        for col, stored in zip(cols, new.columns, strict=True):
            store.comparisons.update_column(
                stored.id,
                output=col.get("output", ""),
                reasoning=col.get("reasoning", ""),
                status="interrupted"
                if col["status"] in ("pending", "streaming")
                else col["status"],
                error=col.get("error"),
                metrics=col.get("metrics"),
            )
            store.db.conn.execute(
                "UPDATE comparison_columns SET updated_at = ? WHERE id = ?",
                (_num(col.get("updated_at", created), "column updated_at"), stored.id),
            )
        if vote is not None:
            store.votes.record(
                new.id,
                shown_order=order,
                outcome=vote["outcome"],
                winner_position=vote.get("winner_position"),
                created_at=_num(vote.get("created_at", created), "vote created_at"),
            )
        store.db.conn.execute(
            "UPDATE comparisons SET updated_at = ? WHERE id = ?",
            (_num(comp.get("updated_at", created), "updated_at"), new.id),
        )
        return store.comparisons.get(new.id)
