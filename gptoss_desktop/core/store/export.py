"""Export a chat to Markdown (the visible thread, for reading) or JSON (everything, every
branch, versioned), and import such JSON back as a new chat.

``import_conversation_json(store, export_conversation_json(store, c))`` gives a chat equal
to ``c`` in content: title, pin, settings, times, every message with its fields, the tree
and the active leaf. Only database ids differ. A message exported while ``streaming`` is
imported as ``interrupted`` (nobody is writing it any more).
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from gptoss_desktop.core.errors import StoreError
from gptoss_desktop.core.store.records import (
    CHANNELS,
    MESSAGE_STATUSES,
    ROLES,
    ChatSettings,
    Conversation,
    JsonObject,
    Message,
)
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.core.store.tree import group_turns
from gptoss_desktop.core.store.validate import check_tree, load_json, refuse, text, timestamp

CONVERSATION_FORMAT = "gptoss-desktop/conversation"
CONVERSATION_FORMAT_VERSION = 1
MESSAGE_FIELDS = (
    "turn_id", "role", "author_name", "channel", "recipient", "content_type", "content",
    "status", "error", "model", "metrics", "created_at", "updated_at",
)  # fmt: skip
_STATUS_NOTES = {
    "streaming": "still being written when exported",
    "interrupted": "interrupted: the app stopped while this was being written",
    "cancelled": "cancelled",
    "error": "failed",
}


# --- Markdown ----------------------------------------------------------------------------------
def iso_time(t: float) -> str:
    return _dt.datetime.fromtimestamp(t, tz=_dt.UTC).isoformat(timespec="seconds")


def fence(text: str, info: str = "") -> str:
    """A fenced code block that no backtick run inside ``text`` can close early."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{info}\n{text}\n{ticks}"


def metrics_line(metrics: Mapping[str, Any] | None) -> str:
    if not metrics:
        return ""
    parts: list[str] = []
    ttft = metrics.get("ttft_s")
    if isinstance(ttft, int | float):
        parts.append(f"first token {ttft:.2f} s")
    rate = metrics.get("tokens_per_s")
    if isinstance(rate, int | float):
        parts.append(f"{rate:.1f} tokens/s")
    tokens = metrics.get("completion_tokens", metrics.get("tokens"))  # engine / compare names
    if isinstance(tokens, int) and not isinstance(tokens, bool):
        parts.append(f"{tokens} tokens")
    return " · ".join(parts)


def details_block(summary: str, body: str) -> str:
    body = body.replace("</details>", "&lt;/details>")
    return f"<details>\n<summary>{summary}</summary>\n\n{body}\n\n</details>"


def _message_markdown(m: Message) -> str:
    if m.role == "assistant" and m.channel == "analysis":
        text = details_block("Reasoning", m.content)
    elif m.role == "assistant" and m.recipient:
        text = f"**Tool call** → `{m.recipient}`\n\n" + fence(m.content, "json")
    elif m.role == "tool":
        text = f"**Tool result** from `{m.author_name or 'tool'}`\n\n" + fence(m.content)
    else:
        text = m.content
    note = _STATUS_NOTES.get(m.status)
    if note:
        text += f"\n\n*({note}{': ' + m.error if m.error else ''})*"
    return text


def export_conversation_markdown(store: Store, conversation_id: int) -> str:
    """The thread shown in the chat window as readable Markdown; reasoning is collapsed."""
    chat = store.conversations.get(conversation_id)
    lines = [f"# {chat.title}", ""]
    s = chat.settings
    lines.append(f"- Exported: {iso_time(time.time())} from gptoss-desktop")
    if s.model:
        lines.append(f"- Model: {s.model} · reasoning effort {s.reasoning_effort}")
    lines.append("")
    if s.system_prompt:
        lines += [details_block("System prompt", s.system_prompt), ""]
    if s.instructions:
        lines += [details_block("Instructions", s.instructions), ""]
    for turn in group_turns(store.messages.active_path(conversation_id)):
        first = turn[0]
        heading = {"tool": "Tool"}.get(first.role, first.role.capitalize())
        model = next((m.model for m in turn if m.model), None)
        lines += ["---", "", f"### {heading}{' · ' + model if model else ''}", ""]
        for m in turn:
            lines += [_message_markdown(m), ""]
        stats = metrics_line(next((m.metrics for m in reversed(turn) if m.metrics), None))
        if stats:
            lines += [f"*{stats}*", ""]
    return "\n".join(lines).rstrip() + "\n"


# --- JSON --------------------------------------------------------------------------------------
def export_conversation_json(store: Store, conversation_id: int) -> JsonObject:
    """Everything about one chat as a JSON-ready dict (see the module doc)."""
    chat = store.conversations.get(conversation_id)
    messages = store.messages.all(conversation_id)
    key = {m.id: i for i, m in enumerate(messages)}
    return {
        "format": CONVERSATION_FORMAT,
        "version": CONVERSATION_FORMAT_VERSION,
        "exported_at": time.time(),
        "conversation": {
            "title": chat.title,
            "pinned": chat.pinned,
            "created_at": chat.created_at,
            "updated_at": chat.updated_at,
            "settings": chat.settings.to_dict(),
            "active_leaf": None if chat.active_leaf_id is None else key[chat.active_leaf_id],
        },
        "messages": [
            {
                "key": key[m.id],
                "parent": None if m.parent_id is None else key[m.parent_id],
                **{name: getattr(m, name) for name in MESSAGE_FIELDS},
            }
            for m in messages
        ],
    }


def conversation_json_text(store: Store, conversation_id: int) -> str:
    return json.dumps(
        export_conversation_json(store, conversation_id), ensure_ascii=False, indent=2
    )


_KIND = "chat"
MAX_MESSAGES = 1_000_000
MAX_TITLE = 10_000
_KEY_LIMIT = 2**53  # what every JSON reader holds exactly


def _bad(problem: str) -> StoreError:
    return refuse(_KIND, problem)


def _number(value: object, what: str) -> float:
    return timestamp(value, _KIND, what)


def _optional_text(value: object, what: str) -> str | None:
    result: str | None = text(value, _KIND, what, optional=True)
    return result


def _key(value: object) -> int | None:
    """A message key (a whole number), or None for anything else (lists, objects, booleans)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _KEY_LIMIT:
        return value
    return None


def _check_header(data: object) -> tuple[Mapping[str, Any], list[Any]]:
    if not isinstance(data, Mapping) or data.get("format") != CONVERSATION_FORMAT:
        raise _bad(f'it lacks "format": "{CONVERSATION_FORMAT}"')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _bad("its version is missing")
    if version > CONVERSATION_FORMAT_VERSION:
        raise StoreError(
            f"This chat was exported by a newer gptoss-desktop (format {version}): update the app."
        )
    conv, messages = data.get("conversation"), data.get("messages")
    if not isinstance(conv, Mapping) or not isinstance(messages, list):
        raise _bad('it needs a "conversation" object and a "messages" list')
    if len(messages) > MAX_MESSAGES:
        raise _bad(f"it has more than {MAX_MESSAGES} messages")
    return conv, messages


def _check_message(i: int, m: object, seen: set[int]) -> JsonObject:
    if not isinstance(m, Mapping):
        raise _bad(f"message {i} is not an object")
    key, raw_parent = _key(m.get("key")), m.get("parent")
    if key is None or key in seen:
        raise _bad(f"message {i} has a missing, repeated or invalid key")
    parent = _key(raw_parent)
    if raw_parent is not None and (parent is None or parent not in seen):
        raise _bad(f"message {i} answers a message that does not come before it")
    role, channel, status = m.get("role"), m.get("channel"), m.get("status", "complete")
    if not isinstance(role, str) or role not in ROLES:
        raise _bad(f"message {i} has an unknown role {str(role)[:40]!r}")
    if channel is not None and (not isinstance(channel, str) or channel not in CHANNELS):
        raise _bad(f"message {i} has an unknown channel {str(channel)[:40]!r}")
    if not isinstance(status, str) or status not in MESSAGE_STATUSES:
        raise _bad(f"message {i} has an unknown status {str(status)[:40]!r}")
    if not isinstance(m.get("content", ""), str) or not isinstance(m.get("turn_id", ""), str):
        raise _bad(f"message {i} has content or turn_id that is not text")
    text(m.get("turn_id", ""), _KIND, f"message {i} turn_id", limit=200)
    metrics = m.get("metrics")
    if metrics is not None and not isinstance(metrics, Mapping):
        raise _bad(f"message {i} has metrics that are not an object")
    for name in ("author_name", "recipient", "content_type", "error", "model"):
        _optional_text(m.get(name), f"message {i} {name}")
    created = _number(m.get("created_at", 0.0), f"message {i} created_at")
    return {
        "key": key,
        "parent": parent,
        "role": role,
        "channel": channel,
        "status": "interrupted" if status == "streaming" else status,
        "content": m.get("content", ""),
        "turn_id": m.get("turn_id") or None,
        "metrics": metrics,
        "created_at": created,
        "updated_at": _number(m.get("updated_at", created), f"message {i} updated_at"),
        **{n: m.get(n) for n in ("author_name", "recipient", "content_type", "error", "model")},
    }


def import_conversation_json(store: Store, data: Mapping[str, Any] | str) -> Conversation:
    """Add an exported chat as a new chat; the file is checked completely before anything is written.

    Refused (:class:`~gptoss_desktop.core.store.validate.ImportRefused`, nothing written): text
    over 256 MiB or nesting deeper than 32 levels, non-finite numbers, ids that are not whole
    numbers, times outside 1970..2200, settings outside their ranges, unknown roles/channels.
    """
    parsed: object = load_json(data, _KIND) if isinstance(data, str | bytes) else data
    check_tree(parsed, _KIND)  # depth, size, finite numbers: before any field is looked at
    conv, raw_messages = _check_header(parsed)
    title = text(conv.get("title"), _KIND, "the chat title", limit=MAX_TITLE)
    if not title.strip():
        raise _bad("the chat has no title")
    raw_settings = conv.get("settings") or {}
    if not isinstance(raw_settings, Mapping):
        raise _bad("the chat settings are not an object")
    try:
        settings = ChatSettings.from_dict(raw_settings)
    except StoreError as exc:
        raise _bad(f"its settings are invalid ({exc.message.rstrip('.')})") from None
    created = _number(conv.get("created_at", time.time()), "created_at")
    updated = _number(conv.get("updated_at", created), "updated_at")
    pinned = conv.get("pinned", False)
    if pinned is not None and not isinstance(pinned, bool):
        raise _bad('"pinned" must be true or false')
    seen: set[int] = set()
    messages = []
    for i, raw in enumerate(raw_messages):
        checked = _check_message(i, raw, seen)
        seen.add(checked["key"])
        messages.append(checked)
    raw_leaf = conv.get("active_leaf")
    leaf = _key(raw_leaf)
    if raw_leaf is not None and (leaf is None or leaf not in seen):
        raise _bad("the active message is not one of its messages")
    with store.db.transaction("import into"):
        chat = store.conversations.create(title, settings, created_at=created)
        ids: dict[int, int] = {}
        for m in messages:
            fields = {k: v for k, v in m.items() if k not in ("key", "parent", "role", "content")}
            parent = None if m["parent"] is None else ids[m["parent"]]
            added = store.messages.add(
                chat.id, m["role"], m["content"], parent_id=parent, activate=False, **fields
            )
            ids[m["key"]] = added.id
        store.messages.set_active_leaf(chat.id, None if leaf is None else ids[leaf])
        store.db.conn.execute(
            "UPDATE conversations SET updated_at = ?, pinned = ? WHERE id = ?",
            (updated, 1 if pinned else 0, chat.id),
        )
        return store.conversations.get(chat.id)
