"""OpenAI's JSON shapes: chat completions (whole and chunked) and responses (whole and events).

Reasoning (gpt-oss's analysis channel) goes to ``reasoning_content`` (the llama.cpp / DeepSeek
convention) and to ``reasoning`` (LM Studio / Ollama), never to ``content``; in the
Responses API it is a ``reasoning`` item with ``reasoning_text`` content.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from gptoss_desktop import __version__
from gptoss_desktop.core.api.service import new_id
from gptoss_desktop.core.api.turn import (
    ApiEvent,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallStarted,
    TurnDone,
    Usage,
)

FINGERPRINT = f"gptoss-desktop-{__version__}"


# --- chat completions ---------------------------------------------------------------------------
def chat_usage(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
    }


def _finish(reason: str) -> str:
    return "stop" if reason == "cancelled" else reason


def chat_completion(cid: str, model: str, done: TurnDone) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": done.text if done.text or not done.calls else None,
        "refusal": None,
    }
    if done.reasoning:
        message["reasoning_content"] = done.reasoning
        message["reasoning"] = done.reasoning
    if done.calls:
        message["tool_calls"] = [
            {
                "id": c.call_id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in done.calls
        ]
    return {
        "id": cid,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish(done.finish_reason),
                "logprobs": None,
            }
        ],
        "usage": chat_usage(done.usage),
    }


class ChatChunks:
    """Chat-completion chunks for a stream of events (``include_usage`` adds a usage chunk)."""

    def __init__(self, cid: str, model: str, include_usage: bool) -> None:
        self.cid = cid
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time())

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.cid,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": FINGERPRINT,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    def first(self) -> dict[str, Any]:
        return self._chunk({"role": "assistant", "content": ""})

    def chunks(self, events: list[ApiEvent]) -> list[dict[str, Any]]:
        """Chunks for a batch of events, consecutive deltas of one kind merged."""
        out: list[dict[str, Any]] = []
        for event in _merged(events):
            if isinstance(event, ReasoningDelta):
                out.append(self._chunk({"reasoning_content": event.text, "reasoning": event.text}))
            elif isinstance(event, TextDelta):
                out.append(self._chunk({"content": event.text}))
            elif isinstance(event, ToolCallStarted):
                call = {
                    "index": event.index,
                    "id": event.call_id,
                    "type": "function",
                    "function": {"name": event.name, "arguments": ""},
                }
                out.append(self._chunk({"tool_calls": [call]}))
            elif isinstance(event, ToolCallDelta):
                call = {"index": event.index, "function": {"arguments": event.arguments}}
                out.append(self._chunk({"tool_calls": [call]}))
            elif isinstance(event, TurnDone):
                out.append(self._chunk({}, _finish(event.finish_reason)))
                if self.include_usage:
                    last = self._chunk({})
                    last["choices"] = []
                    last["usage"] = chat_usage(event.usage)
                    out.append(last)
        return out


def _merged(events: list[ApiEvent]) -> list[ApiEvent]:
    out: list[ApiEvent] = []
    for event in events:
        prev = out[-1] if out else None
        if isinstance(event, ReasoningDelta) and isinstance(prev, ReasoningDelta):
            out[-1] = ReasoningDelta(prev.text + event.text)
        elif isinstance(event, TextDelta) and isinstance(prev, TextDelta):
            out[-1] = TextDelta(prev.text + event.text)
        elif (
            isinstance(event, ToolCallDelta)
            and isinstance(prev, ToolCallDelta)
            and prev.index == event.index
        ):
            out[-1] = ToolCallDelta(event.index, prev.arguments + event.arguments)
        else:
            out.append(event)
    return out


# --- responses ------------------------------------------------------------------------------------
def responses_usage(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": usage.cached_tokens},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens,
    }


class ResponseBuilder:
    """Builds a response object from the events, and the stream's events on the way."""

    def __init__(self, model: str, body: Mapping[str, Any], previous_id: str | None) -> None:
        self.id = new_id("resp")
        self.model = model
        self.body = body
        self.previous_id = previous_id
        self.created_at = int(time.time())
        self.items: list[dict[str, Any]] = []
        self._open: dict[str, Any] | None = None
        self._seq = 0
        self.status = "in_progress"
        self.usage: Usage | None = None
        self.incomplete: dict[str, Any] | None = None

    # --- the response object ----------------------------------------------------------------
    def response(self) -> dict[str, Any]:
        body = self.body
        reasoning = body.get("reasoning") if isinstance(body.get("reasoning"), Mapping) else {}
        return {
            "id": self.id,
            "object": "response",
            "created_at": self.created_at,
            "status": self.status,
            "error": None,
            "incomplete_details": self.incomplete,
            "instructions": body.get("instructions"),
            "max_output_tokens": body.get("max_output_tokens"),
            "model": self.model,
            "output": [dict(i) for i in self.items],
            "parallel_tool_calls": False,
            "previous_response_id": self.previous_id,
            "reasoning": {"effort": (reasoning or {}).get("effort") or "medium", "summary": None},
            "store": body.get("store", True) is not False,
            "temperature": body.get("temperature", 1.0),
            "top_p": body.get("top_p", 1.0),
            "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"),
            "tools": body.get("tools") or [],
            "truncation": "disabled",
            "usage": responses_usage(self.usage) if self.usage else None,
            "metadata": body.get("metadata") or {},
        }

    # --- events -----------------------------------------------------------------------------------
    def _event(self, kind: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        data = {"type": kind, "sequence_number": self._seq, **fields}
        self._seq += 1
        return kind, data

    def start(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            self._event("response.created", response=self.response()),
            self._event("response.in_progress", response=self.response()),
        ]

    def feed(self, events: list[ApiEvent]) -> list[tuple[str, dict[str, Any]]]:
        out: list[tuple[str, dict[str, Any]]] = []
        for event in _merged(events):
            if isinstance(event, ReasoningDelta):
                item = self._item("reasoning", out)
                item["content"][0]["text"] += event.text
                out.append(
                    self._event(
                        "response.reasoning_text.delta",
                        item_id=item["id"],
                        output_index=len(self.items) - 1,
                        content_index=0,
                        delta=event.text,
                    )
                )
            elif isinstance(event, TextDelta):
                item = self._item("message", out)
                item["content"][0]["text"] += event.text
                out.append(
                    self._event(
                        "response.output_text.delta",
                        item_id=item["id"],
                        output_index=len(self.items) - 1,
                        content_index=0,
                        delta=event.text,
                        logprobs=[],
                    )
                )
            elif isinstance(event, ToolCallStarted):
                self._close(out)
                item = {
                    "type": "function_call",
                    "id": new_id("fc"),
                    "call_id": event.call_id,
                    "name": event.name,
                    "arguments": "",
                    "status": "in_progress",
                }
                self._add(item, out)
            elif isinstance(event, ToolCallDelta):
                item = self._open or {}
                if item.get("type") == "function_call":
                    item["arguments"] += event.arguments
                    out.append(
                        self._event(
                            "response.function_call_arguments.delta",
                            item_id=item["id"],
                            output_index=len(self.items) - 1,
                            delta=event.arguments,
                        )
                    )
            elif isinstance(event, TurnDone):
                self._close(out)
                self.usage = event.usage
                if event.finish_reason == "length":
                    self.status = "incomplete"
                    self.incomplete = {"reason": "max_output_tokens"}
                elif event.finish_reason == "cancelled":
                    self.status = "cancelled"
                else:
                    self.status = "completed"
                kind = "response.completed" if self.status == "completed" else "response.incomplete"
                out.append(self._event(kind, response=self.response()))
        return out

    def _item(self, kind: str, out: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        if self._open is not None and self._open["type"] == kind:
            return self._open
        self._close(out)
        if kind == "reasoning":
            item: dict[str, Any] = {
                "type": "reasoning",
                "id": new_id("rs"),
                "summary": [],
                "content": [{"type": "reasoning_text", "text": ""}],
                "status": "in_progress",
            }
            self._add(item, out)
        else:
            item = {
                "type": "message",
                "id": new_id("msg"),
                "status": "in_progress",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "", "annotations": [], "logprobs": []}],
            }
            self._add(item, out)
            out.append(
                self._event(
                    "response.content_part.added",
                    item_id=item["id"],
                    output_index=len(self.items) - 1,
                    content_index=0,
                    part={"type": "output_text", "text": "", "annotations": []},
                )
            )
        return item

    def _add(self, item: dict[str, Any], out: list[tuple[str, dict[str, Any]]]) -> None:
        self.items.append(item)
        self._open = item
        shown = dict(item)
        if item["type"] == "reasoning" or item["type"] == "message":
            shown["content"] = []
        out.append(
            self._event("response.output_item.added", output_index=len(self.items) - 1, item=shown)
        )

    def _close(self, out: list[tuple[str, dict[str, Any]]]) -> None:
        item = self._open
        if item is None:
            return
        self._open = None
        index = len(self.items) - 1
        item["status"] = "completed"
        if item["type"] == "reasoning":
            out.append(
                self._event(
                    "response.reasoning_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    text=item["content"][0]["text"],
                )
            )
        elif item["type"] == "message":
            part = item["content"][0]
            out.append(
                self._event(
                    "response.output_text.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    text=part["text"],
                    logprobs=[],
                )
            )
            out.append(
                self._event(
                    "response.content_part.done",
                    item_id=item["id"],
                    output_index=index,
                    content_index=0,
                    part=part,
                )
            )
        elif item["type"] == "function_call":
            out.append(
                self._event(
                    "response.function_call_arguments.done",
                    item_id=item["id"],
                    output_index=index,
                    name=item["name"],
                    arguments=item["arguments"],
                )
            )
        out.append(self._event("response.output_item.done", output_index=index, item=dict(item)))
