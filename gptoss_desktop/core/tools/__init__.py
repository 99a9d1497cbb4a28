"""Real tools for gpt-oss: a sandboxed python, an offline browser, function tools, approval.

Qt-free. Every tool is a plain handler ``handler(name, arguments) -> ToolResult``:

- :class:`~gptoss_desktop.core.tools.python_tool.PythonTool` (``python``): a confined,
  stateful Python process per chat (:mod:`gptoss_desktop.core.tools.sandbox`).
- :class:`~gptoss_desktop.core.tools.browser.BrowserSession` (``browser.search/open/find``)
  over a folder of the user's documents, with :func:`~gptoss_desktop.core.tools.browser.link_citations`.
- :class:`~gptoss_desktop.core.tools.functions.FunctionTools` (``functions.*``): answered by
  the user or by a built-in (current time, calculator, read a scratch file).
- :class:`~gptoss_desktop.core.tools.approval.ApprovalPolicy`: ask / always allow / deny,
  edited arguments, a limit per turn.
- :class:`~gptoss_desktop.core.tools.toolbox.ToolBox`: the tools of one chat, routed by recipient.

Names are imported lazily so that the sandbox process, which imports a submodule of this
package, starts without loading the rest.
"""

import importlib

_EXPORTS = {
    "ToolCall": "results",
    "ToolResult": "results",
    "parse_arguments": "results",
    "ApprovalPolicy": "approval",
    "ApprovalMode": "approval",
    "Approval": "approval",
    "Decision": "approval",
    "PythonTool": "python_tool",
    "FunctionTools": "functions",
    "FunctionSpec": "functions",
    "load_function_specs": "functions",
    "builtin_tool_namespaces": "namespaces",
    "ToolBox": "toolbox",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
