"""Writing untrusted text (tool output, model output, document text) to a terminal.

Text that reaches a terminal raw can drive it: ``ESC ] 52`` rewrites the clipboard, other
sequences retitle the window, move the cursor over earlier lines, or hide text; C1 controls
(U+0080 to U+009F) do the same on terminals that honour them, and bidi overrides reorder
what is shown. When the stream is a terminal, every such character is written visibly
escaped instead (``\\x1b``, ``\\x07``, ``\\x9b``, ``\\u202e``); newlines and tabs stay.
Pipes and files get the text unchanged.
"""

from __future__ import annotations

import re
from typing import TextIO

#: C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with control characters shown as escapes (``\\n`` and ``\\t`` kept)."""
    return _CONTROLS.sub(_visible, text)


def escape_json_controls(text: str) -> str:
    """JSON text with the characters JSON leaves raw (DEL, C1, bidi) as ``\\u`` escapes,
    which keeps it valid JSON (C0 controls are always escaped by ``json.dumps``)."""
    return _CONTROLS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def for_terminal(stream: TextIO, text: str) -> str:
    """``text`` as it may be written to ``stream``: escaped if it is a terminal."""
    return escape_controls(text) if is_terminal(stream) else text


def write(stream: TextIO, text: str) -> None:
    """Write untrusted ``text`` to ``stream``, escaped if it is a terminal."""
    stream.write(for_terminal(stream, text))
