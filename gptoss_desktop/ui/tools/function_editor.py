"""Editing a chat's function tools: a list, a JSON editor checked as you type, templates,
and who answers each function (you, or a built-in: time, calculator, read a scratch file)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.tools.functions import BUILTINS, HUMAN, TEMPLATES, FunctionSpec

BINDING_LABELS = {
    HUMAN: "I type the result",
    "current_time": "Built-in: current time",
    "calculator": "Built-in: calculator",
    "read_file": "Built-in: read a file from the scratch folder",
}
#: The binding a template suggests (a built-in's own spec is answered by that built-in).
TEMPLATE_BINDINGS = {b.spec.name: key for key, b in BUILTINS.items()}
BLANK = FunctionSpec(
    "my_function",
    "Says what the function does, for the model.",
    {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
)
RESERVED = ("python", "browser")


@dataclass
class _Item:
    text: str
    binding: str = HUMAN


def spec_json(spec: FunctionSpec) -> str:
    return json.dumps(spec.to_dict(), indent=2, ensure_ascii=False)


def parse_spec(text: str) -> tuple[FunctionSpec | None, list[str]]:
    """A function spec from the editor's JSON, or the problems to show."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
    if not isinstance(data, dict):
        return None, ['write one JSON object: {"name": ..., "description": ..., "parameters": ...}']
    if not isinstance(data.get("name"), str):
        return None, ['"name" is missing (letters, digits and _)']
    unknown = sorted(set(data) - {"name", "description", "parameters"})
    spec = FunctionSpec(data["name"], str(data.get("description") or ""), data.get("parameters"))
    problems = spec.problems()
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)}; use name, description, parameters")
    if spec.name in RESERVED:
        problems.append(f"{spec.name!r} is the name of a built-in tool; choose another")
    return spec, problems


class FunctionEditor(QWidget):
    #: Whether every function is valid now.
    sig_validity = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._items: list[_Item] = []
        self.list = QListWidget()
        self.list.setMaximumWidth(180)
        self.list.currentRowChanged.connect(self._select)
        self.template = QComboBox()
        self.template.addItem("Blank function", BLANK.name)
        for name in TEMPLATES:
            self.template.addItem(f"Template: {name}", name)
        self.add_button = QPushButton("Add function")
        self.add_button.clicked.connect(self.add_from_template)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_current)
        self.editor = QPlainTextEdit()
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setPlaceholderText("Add a function: pick a template and press Add")
        self.editor.textChanged.connect(self._edited)
        self.binding = QComboBox()
        for key, label in BINDING_LABELS.items():
            self.binding.addItem(label, key)
        self.binding.currentIndexChanged.connect(self._binding_changed)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(self.list, 1)
        left.addWidget(self.template)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        left.addLayout(row)
        right = QVBoxLayout()
        right.addWidget(self.editor, 1)
        answer = QHBoxLayout()
        answer.addWidget(QLabel("Answered by:"))
        answer.addWidget(self.binding, 1)
        right.addLayout(answer)
        right.addWidget(self.problems)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(left)
        layout.addLayout(right, 1)
        self._update_enabled()

    # --- content ---------------------------------------------------------------------------------
    def set_functions(self, specs: list[FunctionSpec], bindings: dict[str, str]) -> None:
        self._items = [_Item(spec_json(s), bindings.get(s.name, HUMAN)) for s in specs]
        self.list.clear()
        for spec in specs:
            self.list.addItem(spec.name)
        self.list.setCurrentRow(0 if specs else -1)
        self._update_enabled()
        self._validate()

    def functions(self) -> tuple[list[FunctionSpec], dict[str, str]]:
        """The valid functions and their bindings (call only when :attr:`valid`)."""
        specs: list[FunctionSpec] = []
        bindings: dict[str, str] = {}
        for item in self._items:
            spec, problems = parse_spec(item.text)
            if spec is not None and not problems:
                specs.append(spec)
                bindings[spec.name] = item.binding
        return specs, bindings

    def all_problems(self) -> list[str]:
        found: list[str] = []
        names: list[str] = []
        for number, item in enumerate(self._items, 1):
            spec, problems = parse_spec(item.text)
            label = spec.name if spec is not None else f"function {number}"
            found += [f"{label}: {p}" for p in problems]
            if spec is not None:
                names.append(spec.name)
        found += [f"{n}: defined twice" for n in sorted({n for n in names if names.count(n) > 1})]
        return found

    @property
    def valid(self) -> bool:
        return not self.all_problems()

    # --- actions ---------------------------------------------------------------------------------
    def add_from_template(self) -> None:
        key = self.template.currentData()
        spec = TEMPLATES.get(key, BLANK)
        existing = {self.list.item(i).text() for i in range(self.list.count())}
        name = spec.name
        suffix = 2
        while name in existing:
            name = f"{spec.name}_{suffix}"
            suffix += 1
        spec = FunctionSpec(name, spec.description, spec.parameters)
        self._items.append(_Item(spec_json(spec), TEMPLATE_BINDINGS.get(key, HUMAN)))
        self.list.addItem(name)
        self.list.setCurrentRow(self.list.count() - 1)
        self._update_enabled()
        self._validate()

    def remove_current(self) -> None:
        row = self.list.currentRow()
        if row < 0:
            return
        del self._items[row]
        self.list.takeItem(row)
        self._update_enabled()
        self._validate()

    def _select(self, row: int) -> None:
        if 0 <= row < len(self._items):
            item = self._items[row]
            self.editor.blockSignals(True)
            self.editor.setPlainText(item.text)
            self.editor.blockSignals(False)
            self.binding.blockSignals(True)
            self.binding.setCurrentIndex(max(self.binding.findData(item.binding), 0))
            self.binding.blockSignals(False)
        else:
            self.editor.blockSignals(True)
            self.editor.clear()
            self.editor.blockSignals(False)
        self._update_enabled()
        self._validate()

    def _edited(self) -> None:
        row = self.list.currentRow()
        if not 0 <= row < len(self._items):
            return
        self._items[row].text = self.editor.toPlainText()
        spec, _problems = parse_spec(self._items[row].text)
        if spec is not None:
            self.list.item(row).setText(spec.name)
        self._validate()

    def _binding_changed(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._items):
            self._items[row].binding = self.binding.currentData()

    def _update_enabled(self) -> None:
        has = self.list.currentRow() >= 0
        for w in (self.editor, self.binding, self.remove_button):
            w.setEnabled(has)

    def _validate(self) -> None:
        problems = self.all_problems()
        if problems:
            self.problems.setStyleSheet("color: #cf222e;")
            self.problems.setText("\n".join(problems[:6]))
        else:
            self.problems.setStyleSheet("color: #1a7f37;")
            count = len(self._items)
            self.problems.setText(f"✓ {count} function{'s' if count != 1 else ''}, all valid"
                                  if count else "No functions: the model gets none.")  # fmt: skip
        self.sig_validity.emit(not problems)
