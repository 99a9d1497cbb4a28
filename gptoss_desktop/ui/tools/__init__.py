"""The Harmony tool-use panel and the wiring of tools into chat turns (issue 6).

* :func:`attach_to` docks the panel in the main window and wires it into Harmony turns.
* :class:`ToolPanel`: the current turn live (channels, calls, results, raw tokens, export).
* :class:`ApprovalCard`: one tool call, editable, Allow once / Always allow / Deny.
* :class:`ToolConfigEditor`: a chat's tools, documents folder, functions and approval.
* Qt-free parts: :mod:`.trace` (the turn's trace), :mod:`.wiring` (tools into a session),
  :mod:`.toolbox` (per-chat tool choice and running tools), :mod:`.raw` (exact tokens).
"""

from gptoss_desktop.ui.tools.approval_card import ApprovalCard
from gptoss_desktop.ui.tools.config_editor import ToolConfigEditor
from gptoss_desktop.ui.tools.controller import ToolPanelController, attach_to
from gptoss_desktop.ui.tools.tool_panel import ToolPanel

__all__ = ["ApprovalCard", "ToolConfigEditor", "ToolPanel", "ToolPanelController", "attach_to"]
