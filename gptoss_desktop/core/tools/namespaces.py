"""The tool definitions the model reads: built-in ``browser`` and ``python``, and functions.

The built-in namespaces are the ones gpt-oss was trained with, word for word (the text of
openai/harmony's ``ToolNamespaceConfig.browser()`` and ``.python()``, Apache-2.0); they go in
the system message. Function tools go in the developer message under ``functions``.
The tests compare these with the Harmony conformance kit.
"""

from __future__ import annotations

from collections.abc import Iterable

from gptoss_desktop.core.harmony.model import ToolDescription, ToolNamespace
from gptoss_desktop.core.tools.functions import FunctionSpec

BROWSER_DESCRIPTION = (
    "Tool for browsing.\n"
    "The `cursor` appears in brackets before each browsing display: `[{cursor}]`.\n"
    "Cite information from the tool using the following format:\n"
    "`【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.\n"
    "Do not quote more than 10 words directly from the tool output.\n"
    "sources=web (default: web)"
)

PYTHON_DESCRIPTION = (
    "Use this tool to execute Python code in your chain of thought. The code will not be "
    "shown to the user. This tool should be used for internal reasoning, but not for code "
    "that is intended to be visible to the user (e.g. when creating plots, tables, or files)."
    "\n\n"
    "When you send a message containing Python code to python, it will be executed in a "
    "stateful Jupyter notebook environment. python will respond with the output of the "
    "execution or time out after 120.0 seconds. The drive at '/mnt/data' can be used to save "
    "and persist user files. Internet access for this session is UNKNOWN. Depends on the "
    "cluster."
)

_SEARCH = ToolDescription(
    "search",
    "Searches for information related to `query` and displays `topn` results.",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string"},
            "topn": {"type": "number", "default": 10},
            "source": {"type": "string"},
        },
        "required": ["query"],
    },
)
_OPEN = ToolDescription(
    "open",
    "Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, "
    "showing `num_lines` lines.\n"
    "Valid link ids are displayed with the formatting: `【{id}†.*】`.\n"
    "If `cursor` is not provided, the most recent page is implied.\n"
    "If `id` is a string, it is treated as a fully qualified URL associated with `source`.\n"
    "If `loc` is not provided, the viewport will be positioned at the beginning of the "
    "document or centered on the most relevant passage, if available.\n"
    "Use this function without `id` to scroll to a new location of an opened page.",
    {
        "type": "object",
        "properties": {
            "id": {"type": ["number", "string"], "default": -1},
            "cursor": {"type": "number", "default": -1},
            "loc": {"type": "number", "default": -1},
            "num_lines": {"type": "number", "default": -1},
            "view_source": {"type": "boolean", "default": False},
            "source": {"type": "string"},
        },
    },
)
_FIND = ToolDescription(
    "find",
    "Finds exact matches of `pattern` in the current page, or the page given by `cursor`.",
    {
        "type": "object",
        "properties": {
            "pattern": {"type": "string"},
            "cursor": {"type": "number", "default": -1},
        },
        "required": ["pattern"],
    },
)


def browser_namespace(description: str = BROWSER_DESCRIPTION) -> ToolNamespace:
    return ToolNamespace("browser", description, (_SEARCH, _OPEN, _FIND))


def python_namespace(description: str = PYTHON_DESCRIPTION) -> ToolNamespace:
    """The python tool. The default text is the trained one; it promises a 120 s timeout and
    /mnt/data, which the sandbox provides where it has its own mount namespace."""
    return ToolNamespace("python", description, ())


def builtin_tool_namespaces(
    *, browser: bool = True, python: bool = True
) -> dict[str, ToolNamespace]:
    """The system message's built-in tools, keyed by name (sorted as the renderer wants)."""
    found: dict[str, ToolNamespace] = {}
    if browser:
        found["browser"] = browser_namespace()
    if python:
        found["python"] = python_namespace()
    return found


def functions_namespace(specs: Iterable[FunctionSpec]) -> ToolNamespace:
    """The developer message's ``functions`` namespace."""
    tools = tuple(ToolDescription(s.name, s.description, s.parameters) for s in specs)
    return ToolNamespace("functions", None, tools)
