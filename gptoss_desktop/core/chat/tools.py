"""Tool assembly: which tools a chat has, and the running tools of one chat.

One place for every front end (the chat window's tool panel, ``gptoss-desktop chat --tools``,
the API server, MCP tools). :class:`ChatToolConfig` is the per-chat choice, kept in the chat's
:class:`~gptoss_desktop.core.store.records.ChatSettings` (``enabled_tools`` holds ``python``
and ``browser``; ``function_tools`` the function definitions, each with an optional
``binding``). :class:`ToolPreferences` are app-wide (the documents folder, the approval mode,
the call limit) and live in ``tools.json`` in the config folder. :class:`ChatTools` holds one
chat's python sandbox, browser page stack, function tools and "always allow" memory;
:meth:`ChatTools.add_function` adds a function answered by a handler of the caller's (MCP
tools, the API server's client-side tools). :func:`add_to_session` puts a
:class:`~gptoss_desktop.core.tools.toolbox.ToolBox` into a Harmony session's options.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from gptoss_desktop.core.errors import SandboxUnavailable, ToolError
from gptoss_desktop.core.harmony.model import DeveloperContent, ToolNamespace
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.store.records import ChatSettings
from gptoss_desktop.core.tools.approval import ApprovalMode, ApprovalPolicy, Asker
from gptoss_desktop.core.tools.browser import BrowserSession, DocumentIndex, default_index_path
from gptoss_desktop.core.tools.functions import (
    BUILTINS,
    HUMAN,
    FunctionContext,
    FunctionHandler,
    FunctionSpec,
    FunctionTools,
    HumanAnswer,
)
from gptoss_desktop.core.tools.python_tool import PythonTool
from gptoss_desktop.core.tools.results import ToolCall, ToolResult
from gptoss_desktop.core.tools.scratch import scratch_dir
from gptoss_desktop.core.tools.toolbox import ToolBox

PYTHON, BROWSER = "python", "browser"
BINDINGS = (HUMAN, *BUILTINS)  # "human", "current_time", "calculator", "read_file"
PREFERENCES_FILE = "tools.json"
REINDEX_AFTER_S = 2.0  # a turn looks at the documents folder again, not every call


@dataclass(frozen=True)
class ChatToolConfig:
    """The tools of one chat: built-ins on or off, and function tools with their bindings."""

    python: bool = False
    browser: bool = False
    functions: tuple[FunctionSpec, ...] = ()
    bindings: Mapping[str, str] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return self.python or self.browser or bool(self.functions)

    def binding(self, name: str) -> str:
        return self.bindings.get(name, HUMAN)

    @classmethod
    def from_settings(cls, settings: ChatSettings) -> ChatToolConfig:
        specs: list[FunctionSpec] = []
        bindings: dict[str, str] = {}
        for item in settings.function_tools:
            spec = FunctionSpec(
                str(item["name"]), str(item.get("description") or ""), item.get("parameters")
            )
            specs.append(spec)
            if isinstance(item.get("binding"), str) and item["binding"] in BINDINGS:
                bindings[spec.name] = item["binding"]
        return cls(PYTHON in settings.enabled_tools, BROWSER in settings.enabled_tools,
                   tuple(specs), bindings)  # fmt: skip

    def applied_to(self, settings: ChatSettings) -> ChatSettings:
        """``settings`` with this tool choice (other settings kept)."""
        enabled = [t for t in settings.enabled_tools if t not in (PYTHON, BROWSER)]
        enabled += [name for name, on in ((BROWSER, self.browser), (PYTHON, self.python)) if on]
        functions = []
        for spec in self.functions:
            item: dict[str, Any] = {"name": spec.name, "description": spec.description}
            if spec.parameters is not None:
                item["parameters"] = json.loads(json.dumps(spec.parameters))
            item["binding"] = self.binding(spec.name)
            functions.append(item)
        return replace(settings, enabled_tools=tuple(enabled), function_tools=tuple(functions))

    def problems(self) -> list[str]:
        found = [p for spec in self.functions for p in spec.problems()]
        found += [f"{s.name!r} is the name of a built-in tool" for s in self.functions
                  if s.name in (PYTHON, BROWSER)]  # fmt: skip
        names = [s.name for s in self.functions]
        found += [
            f"{n!r} is defined twice" for n in sorted({n for n in names if names.count(n) > 1})
        ]
        return found


@dataclass(frozen=True)
class ToolPreferences:
    """App-wide tool choices."""

    docs_folder: str | None = None
    approval: ApprovalMode = ApprovalMode.ASK
    max_calls_per_turn: int = 8

    @classmethod
    def load(cls, config_dir: Path) -> ToolPreferences:
        path = config_dir / PREFERENCES_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                data.get("docs_folder") or None,
                ApprovalMode(data.get("approval", "ask")),
                max(1, min(int(data.get("max_calls_per_turn", 8)), 64)),
            )
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            raise ToolError(
                f"{path}: cannot read the tool preferences ({exc}); delete it"
            ) from None

    def save(self, config_dir: Path) -> None:
        config_dir.mkdir(parents=True, exist_ok=True)
        data = {"docs_folder": self.docs_folder, "approval": self.approval.value,
                "max_calls_per_turn": self.max_calls_per_turn}  # fmt: skip
        tmp = config_dir / (PREFERENCES_FILE + ".tmp")
        tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
        tmp.replace(config_dir / PREFERENCES_FILE)


class ChatTools:
    """The running tools of one chat. Used from one turn thread at a time."""

    def __init__(
        self,
        paths: AppPaths,
        chat_key: str,
        *,
        ask: Asker,
        human: HumanAnswer,
        sandbox_namespaces: str = "auto",
    ) -> None:
        self.paths = paths
        self.chat_key = chat_key
        self.scratch = scratch_dir(paths, chat_key)
        self._ask = ask
        self._human = human
        self._namespaces = sandbox_namespaces
        self._lock = threading.Lock()
        self._python: PythonTool | None = None
        self._browser: BrowserSession | None = None
        self._docs: Path | None = None
        self._indexed_at = -1e9  # when the document index was last brought up to date
        self.python_unavailable: str | None = None
        self.policy = ApprovalPolicy(ApprovalMode.ASK, ask=ask)
        self._handled: dict[str, tuple[FunctionSpec, FunctionHandler]] = {}

    @property
    def has_handled_functions(self) -> bool:
        return bool(self._handled)

    def add_function(self, spec: FunctionSpec, handler: FunctionHandler) -> None:
        """Offer ``spec`` in every turn of this chat, answered by ``handler(arguments)``."""
        problems = spec.problems()
        if problems:
            raise ToolError(f"function {spec.name!r} is not valid: {'; '.join(problems)}")
        self._handled[spec.name] = (spec, handler)

    # --- approval ----------------------------------------------------------------------------
    def update_policy(self, prefs: ToolPreferences) -> ApprovalPolicy:
        """The chat's policy under the current preferences; "always allow" survives."""
        if (self.policy.mode, self.policy.max_calls_per_turn) != (
            prefs.approval,
            prefs.max_calls_per_turn,
        ):
            self.policy = ApprovalPolicy(
                prefs.approval,
                ask=self._ask,
                max_calls_per_turn=prefs.max_calls_per_turn,
                always_allowed=self.policy.always_allowed,
            )
        return self.policy

    # --- the tools -------------------------------------------------------------------------------
    def python(self) -> PythonTool:
        with self._lock:
            if self._python is None:
                self.scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._python = PythonTool(self.scratch, namespaces=self._namespaces)
            return self._python

    def check_python(self) -> str:
        """Start the sandbox now: the layers that confine it, or SandboxUnavailable."""
        tool = self.python()
        try:
            tool.check()
        except SandboxUnavailable as exc:
            self.python_unavailable = exc.message
            raise
        info = tool.sandbox.info
        return ", ".join(info.layers) if info else "running"

    def cancel_python(self) -> None:
        """Stop a python call in progress (the turn was stopped); any thread."""
        tool = self._python
        if tool is not None:
            tool.sandbox.cancel()

    def reset_python(self) -> None:
        with self._lock:
            tool = self._python
        if tool is not None:
            tool.reset()

    def browser(self, docs_folder: str | None) -> BrowserSession:
        if not docs_folder:
            raise ToolError("no documents folder is chosen; pick one in the tool settings")
        root = Path(docs_folder).expanduser().resolve()
        with self._lock:
            if self._browser is None or self._docs != root:
                if self._browser is not None:
                    self._browser.index.close()
                index = DocumentIndex(root, default_index_path(self.paths, root))
                self._browser, self._docs, self._indexed_at = BrowserSession(index), root, -1e9
            if time.monotonic() - self._indexed_at > REINDEX_AFTER_S:
                self._browser.index.refresh()
                self._indexed_at = time.monotonic()
            return self._browser

    @property
    def browser_session(self) -> BrowserSession | None:
        return self._browser

    def functions(self, config: ChatToolConfig) -> FunctionTools:
        self.scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
        tools = FunctionTools(
            config.functions,
            bindings={s.name: config.binding(s.name) for s in config.functions},
            human=self._human,
            context=FunctionContext(scratch=self.scratch),
        )
        for spec, handler in self._handled.values():
            tools.add_handled(spec, handler)
        return tools

    def toolbox(
        self,
        config: ChatToolConfig,
        prefs: ToolPreferences,
        on_result: Callable[[ToolCall, ToolResult], None] | None = None,
    ) -> tuple[ToolBox, list[str]]:
        """The chat's tools for one turn, and why a chosen tool is off (said to the user).

        Python stays off where the sandbox cannot be set up; the browser where the documents
        folder is missing. Neither is then offered to the model."""
        problems: list[str] = []
        python = None
        if self._python is not None and self._python.unavailable:
            self.python_unavailable = self._python.unavailable
        if config.python:
            if self.python_unavailable is None:
                python = self.python()
            else:
                problems.append(f"The python tool is off: {self.python_unavailable}")
        browser = None
        if config.browser:
            try:
                browser = self.browser(prefs.docs_folder)
            except ToolError as exc:
                problems.append(f"The browser tool is off: {exc.message}")
        functions = self.functions(config) if (config.functions or self._handled) else None
        box = ToolBox(python=python, browser=browser, functions=functions,
                      policy=self.update_policy(prefs), on_result=on_result)  # fmt: skip
        return box, problems

    def close(self) -> None:
        with self._lock:
            python, browser = self._python, self._browser
            self._python = self._browser = None
        if python is not None:
            python.close()
        if browser is not None:
            browser.index.close()


def add_to_session(options: dict[str, Any], box: ToolBox) -> dict[str, Any]:
    """ChatSession keyword arguments with ``box``'s tools: built-ins in the system message,
    functions in the developer message (after any declared there already), and handlers."""
    options = dict(options)
    builtins = box.system_namespaces()
    if builtins:
        options["system"] = options["system"].with_tools(*builtins.values())
    functions = box.developer_namespace()
    if functions is not None:
        developer = options.get("developer") or DeveloperContent()
        declared = (developer.tools or {}).get(functions.name)
        if declared is not None:
            functions = ToolNamespace(functions.name, None, (*declared.tools, *functions.tools))
        options["developer"] = replace(
            developer, tools={**(developer.tools or {}), functions.name: functions}
        )
    options["tools"] = {**box.harmony_handlers(), **options.get("tools", {})}
    return options
