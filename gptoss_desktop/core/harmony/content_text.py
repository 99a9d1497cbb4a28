"""The text of system and developer messages, and the ``# Tools`` section they share."""

from __future__ import annotations

from collections.abc import Mapping

from gptoss_desktop.core.harmony.model import (
    FUNCTIONS_NAMESPACE,
    DeveloperContent,
    SystemContent,
    ToolNamespace,
)
from gptoss_desktop.core.harmony.schema_ts import schema_to_typescript

FUNCTIONS_CHANNEL_NOTE = "Calls to these tools must go to the commentary channel: 'functions'."


def system_text(content: SystemContent, *, has_function_tools: bool) -> str:
    """Identity and dates, reasoning effort, built-in tools, valid channels; blank-line separated.

    ``has_function_tools``: the conversation declares function tools in a developer message,
    which adds the note that such calls go to the commentary channel.
    """
    sections: list[str] = []
    top = []
    if content.model_identity is not None:
        top.append(content.model_identity)
    if content.knowledge_cutoff is not None:
        top.append(f"Knowledge cutoff: {content.knowledge_cutoff}")
    if content.conversation_start_date is not None:
        top.append(f"Current date: {content.conversation_start_date}")
    if top:
        sections.append("\n".join(top))
    if content.reasoning_effort is not None:
        sections.append(f"Reasoning: {content.reasoning_effort.value}")
    if content.tools:
        sections.append(tools_section(content.tools))
    config = content.channel_config
    if config is not None and config.valid_channels:
        header = f"# Valid channels: {', '.join(config.valid_channels)}."
        if config.channel_required:
            header += " Channel must be included for every message."
        if has_function_tools:
            header += "\n" + FUNCTIONS_CHANNEL_NOTE
        sections.append(header)
    return "\n\n".join(sections)


def developer_text(content: DeveloperContent) -> str:
    sections: list[str] = []
    if content.instructions is not None:
        sections += ["# Instructions", content.instructions]
    if content.tools:
        sections.append(tools_section(content.tools))
    return "\n\n".join(sections)


def declares_function_tools(content: DeveloperContent) -> bool:
    ns = (content.tools or {}).get(FUNCTIONS_NAMESPACE)
    return bool(ns and ns.tools)


def tools_section(namespaces: Mapping[str, ToolNamespace]) -> str:
    """``# Tools`` then each namespace in sorted key order, as TypeScript-like declarations."""
    blocks = ["# Tools"]
    for key in sorted(namespaces):
        blocks.append(_namespace_block(namespaces[key]))
    return "\n\n".join(blocks)


def _namespace_block(ns: ToolNamespace) -> str:
    parts = [f"## {ns.name}\n"]
    if ns.description is not None:
        prefix = "// " if ns.tools else ""
        parts += [prefix + line for line in text_lines(ns.description)]
    if ns.tools:
        parts.append(f"namespace {ns.name} {{\n")
        for tool in ns.tools:
            parts += ["// " + line for line in text_lines(tool.description or "")]
            if tool.parameters is not None:
                signature = f"(_: {schema_to_typescript(tool.parameters)})"
            else:
                signature = "()"
            parts.append(f"type {tool.name} = {signature} => any;\n")
        parts.append(f"}} // namespace {ns.name}")
    return "\n".join(parts)


def text_lines(text: str) -> list[str]:
    """Split on ``\\n`` like Rust's ``str::lines``: no empty last line, a trailing ``\\r`` dropped."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]
