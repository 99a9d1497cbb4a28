"""Messages to and from plain JSON-able dicts (for storage, ``--json`` output and test data).

The shape is the neutral one of the Harmony conformance kit: every key always present,
``None`` where unset, tool ``parameters`` kept in their key order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gptoss_desktop.core.errors import HarmonyError
from gptoss_desktop.core.harmony.model import (
    Author,
    ChannelConfig,
    Content,
    DeveloperContent,
    Message,
    ReasoningEffort,
    Role,
    SystemContent,
    TextContent,
    ToolDescription,
    ToolNamespace,
)


def message_to_dict(message: Message) -> dict[str, Any]:
    return {
        "author": {"role": message.author.role.value, "name": message.author.name},
        "recipient": message.recipient,
        "channel": message.channel,
        "content_type": message.content_type,
        "content": [content_to_dict(c) for c in message.content],
    }


def message_from_dict(data: Mapping[str, Any]) -> Message:
    try:
        author = data["author"]
        return Message(
            Author(Role(author["role"]), author.get("name")),
            tuple(content_from_dict(c) for c in data.get("content") or []),
            channel=data.get("channel"),
            recipient=data.get("recipient"),
            content_type=data.get("content_type"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise HarmonyError(f"not a Harmony message object: {exc}") from exc


def content_to_dict(content: Content) -> dict[str, Any]:
    if isinstance(content, TextContent):
        return {"type": "text", "text": content.text}
    if isinstance(content, SystemContent):
        cfg = content.channel_config
        return {
            "type": "system_content",
            "model_identity": content.model_identity,
            "reasoning_effort": content.reasoning_effort.value
            if content.reasoning_effort
            else None,
            "conversation_start_date": content.conversation_start_date,
            "knowledge_cutoff": content.knowledge_cutoff,
            "channel_config": None
            if cfg is None
            else {
                "valid_channels": list(cfg.valid_channels),
                "channel_required": cfg.channel_required,
            },
            "tools": _namespaces_to_dict(content.tools),
        }
    return {
        "type": "developer_content",
        "instructions": content.instructions,
        "tools": _namespaces_to_dict(content.tools),
    }


def content_from_dict(data: Mapping[str, Any]) -> Content:
    kind = data.get("type")
    if kind == "text":
        return TextContent(str(data["text"]))
    if kind == "system_content":
        cfg = data.get("channel_config")
        effort = data.get("reasoning_effort")
        return SystemContent(
            model_identity=data.get("model_identity"),
            reasoning_effort=ReasoningEffort(effort) if effort else None,
            conversation_start_date=data.get("conversation_start_date"),
            knowledge_cutoff=data.get("knowledge_cutoff"),
            channel_config=None
            if cfg is None
            else ChannelConfig(tuple(cfg["valid_channels"]), bool(cfg["channel_required"])),
            tools=_namespaces_from_dict(data.get("tools")),
        )
    if kind == "developer_content":
        return DeveloperContent(
            instructions=data.get("instructions"), tools=_namespaces_from_dict(data.get("tools"))
        )
    raise HarmonyError(f"unknown content type {kind!r}")


def namespace_from_dict(data: Mapping[str, Any]) -> ToolNamespace:
    return ToolNamespace(
        name=str(data["name"]),
        description=data.get("description"),
        tools=tuple(
            ToolDescription(str(t["name"]), t.get("description") or "", t.get("parameters"))
            for t in data.get("tools") or []
        ),
    )


def namespace_to_dict(ns: ToolNamespace) -> dict[str, Any]:
    return {
        "name": ns.name,
        "description": ns.description,
        "tools": [
            {"name": t.name, "description": t.description, "parameters": t.parameters}
            for t in ns.tools
        ],
    }


def _namespaces_to_dict(tools: Mapping[str, ToolNamespace] | None) -> dict[str, Any] | None:
    if tools is None:
        return None
    return {key: namespace_to_dict(ns) for key, ns in tools.items()}


def _namespaces_from_dict(data: Mapping[str, Any] | None) -> dict[str, ToolNamespace] | None:
    if data is None:
        return None
    return {key: namespace_from_dict(ns) for key, ns in data.items()}
