"""Parse a Harmony message header: author, recipient, channel, content type.

The header is the text between ``<|start|>`` and ``<|message|>``, special tokens written out,
for example ``assistant to=functions.f<|channel|>commentary <|constrain|>json``. The rules are
the reference library's; where it would fail, :func:`parse_header` still returns its best
reading and lists the problems, and the caller decides (the strict parser raises, the lenient
one keeps the reading and marks the message malformed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gptoss_desktop.core.harmony.model import Author, Role
from gptoss_desktop.core.harmony.vocab import CHANNEL, CONSTRAIN

#: The reference library's error when header words are left over.
LEFTOVER_ERROR = "unexpected tokens remaining in message header"
_ASCII_WS = re.compile(r"[ \t\n\r\x0c]+")
_ROLES = {r.value: r for r in Role}


@dataclass
class ParsedHeader:
    author: Author
    recipient: str | None = None
    channel: str | None = None
    content_type: str | None = None
    #: Header words that were not metadata (the content of a message missing ``<|message|>``).
    leftover: str | None = None
    #: Problems found; the first words are stable keys (``empty_channel``, ``unknown_role``...).
    problems: list[str] = field(default_factory=list)


def parse_header(
    header: str,
    role: Role | None,
    *,
    metadata: bool = True,
    fallback_role: Role = Role.ASSISTANT,
) -> ParsedHeader:
    """Read a header.

    ``role``: the role already known (the prompt ended in ``<|start|>ROLE``), else the first word
    is the role. ``metadata=False``: after the channel and role, every remaining word is
    content (a message whose ``<|message|>`` never came). ``fallback_role``: the role given
    when the header names none or an unknown one (a problem is recorded).
    """
    problems: list[str] = []
    channel, header = _take_channel(header, problems)
    header = header.strip()
    if CONSTRAIN in header:
        header = header.replace(CONSTRAIN, " " + CONSTRAIN).strip()
    parts = [p for p in _ASCII_WS.split(header) if p]

    name: str | None = None
    if role is None:
        if not parts:
            problems.append("no_role: the header names no role")
            role = fallback_role
        else:
            word = parts[0]
            known = _ROLES.get(word)
            if known is not None:
                role = known
            elif len(parts) > 1 or word.startswith("to="):
                parts.pop(0)
                role, name = Role.TOOL, word
            elif "." in word:
                # e.g. "functions.get_weather" alone: a tool answering with no recipient.
                problems.append(f"unknown_role: {word!r} read as a tool name")
                parts.pop(0)
                role, name = Role.TOOL, word
            else:
                problems.append(f"unknown_role: {word!r}")
                parts.pop(0)
                role = fallback_role
    if parts and parts[0] == role.value:
        parts.pop(0)

    result = ParsedHeader(Author(role, name), channel=channel, problems=problems)
    if metadata and parts:
        count = len(parts)
        last = parts.pop()
        if last.startswith("to="):
            result.recipient = last[3:]
        elif count == 1 and not last.startswith(CONSTRAIN):
            result.recipient = last
        else:
            result.content_type = last
            if parts:
                raw = parts.pop()
                result.recipient = raw[3:] if raw.startswith("to=") else raw
    if parts:
        result.leftover = " ".join(parts)
        if metadata:
            problems.append(f"{LEFTOVER_ERROR}: {result.leftover!r}")
    return result


def _take_channel(header: str, problems: list[str]) -> tuple[str | None, str]:
    """Remove the first ``<|channel|>X``; X runs up to whitespace or ``<``."""
    idx = header.find(CHANNEL)
    if idx < 0:
        return None, header
    after = header[idx + len(CHANNEL) :]
    end = 0
    while end < len(after) and not (after[end].isspace() or after[end] == "<"):
        end += 1
    value = after[:end]
    if not value:
        problems.append("empty_channel: channel marker present but no channel value found")
        return None, header[:idx] + after
    return value, header[:idx] + after[end:]
