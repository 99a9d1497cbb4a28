"""The Harmony tool-use panel and the wiring of tools into chat turns (issue 6).

* :func:`attach_to` docks the panel in the main window and wires it into Harmony turns.
* :class:`ToolPanel`: the current turn live (channels, calls, results, raw tokens, export).
* :class:`ApprovalCard`: one tool call, editable, Allow once / Always allow / Deny.
* :class:`ToolConfigEditor`: a chat's tools, documents folder, functions and approval.
* Qt-free parts: :mod:`.trace` (the turn's trace), :mod:`.wiring` (tools into a session),
  :mod:`.toolbox` (per-chat tool choice and running tools), :mod:`.raw` (exact tokens),
  :mod:`.trace_export`. The Qt classes above are imported on first use, so the Qt-free
  modules import without PySide6.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gptoss_desktop.ui.tools.approval_card import ApprovalCard
    from gptoss_desktop.ui.tools.config_editor import ToolConfigEditor
    from gptoss_desktop.ui.tools.controller import ToolPanelController, attach_to
    from gptoss_desktop.ui.tools.tool_panel import ToolPanel

_QT_NAMES = {
    "ApprovalCard": "approval_card",
    "ToolConfigEditor": "config_editor",
    "ToolPanel": "tool_panel",
    "ToolPanelController": "controller",
    "attach_to": "controller",
}

__all__ = ["ApprovalCard", "ToolConfigEditor", "ToolPanel", "ToolPanelController", "attach_to"]


def __getattr__(name: str) -> Any:
    module = _QT_NAMES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
