"""Item 1 of issue 16: the main window, compare, the model manager and every dialog fit in
1024x700 with every panel open (their minimumSizeHint), in light and in dark."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.chat_app import make_window
from tests.ui.layout_probe import SCREEN, dialogs, minimum_size, open_all_panels


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_everything_fits_1024x700(qtbot, tmp_path: Path, theme: str) -> None:
    from PySide6.QtWidgets import QApplication

    w = make_window(qtbot, tmp_path / "home", theme=theme)
    w.theme.apply(theme)
    open_all_panels(w, QApplication.processEvents)
    assert w.tools.dock.isVisible() and w.settings_dock.isVisible()
    summary = w.tools.panel.summary
    assert "look_up_the_current_weather" in summary.full_text()  # long, and elided
    width, height = minimum_size(w)
    assert width <= SCREEN[0] and height <= SCREEN[1], (width, height)
    # and the window really can be made that small, with the panels still there
    w.resize(*SCREEN)
    QApplication.processEvents()
    assert w.width() <= SCREEN[0] and w.height() <= SCREEN[1]
    assert w.composer.isVisible() and w.tools.panel.isVisible()
    assert summary.shown_text() != summary.full_text() and summary.shown_text().endswith("…")
    too_big = {}
    for name, widget in dialogs(w).items():
        if name != "welcome":
            qtbot.addWidget(widget) if widget.parent() is None else None
        hint = widget.minimumSizeHint().expandedTo(widget.minimumSize())
        if hint.width() > SCREEN[0] or hint.height() > SCREEN[1]:
            too_big[name] = (hint.width(), hint.height())
    assert not too_big, too_big
    # compare's columns sit in a splitter, which does not add their minimums up: check them
    compare = w.compare_page
    columns = sum(c.minimumSizeHint().width() for c in compare.columns)
    assert columns + 40 <= SCREEN[0], columns


def test_minimum_width_does_not_grow_with_content(qtbot, tmp_path: Path) -> None:
    """Long model names, a long state line and long context text never widen the window."""
    from PySide6.QtWidgets import QApplication

    w = make_window(qtbot, tmp_path / "home")
    open_all_panels(w, QApplication.processEvents)
    before = minimum_size(w)
    name = "a-model-with-an-extremely-long-file-name-" * 4
    w.model_picker.set_models([(name, "/nowhere/" + name + ".gguf")])
    w.model_picker.state_label.setText("Loaded · CPU · context 131,072 · " + "x" * 200)
    w.context_meter.set_usage(123_456, 131_072)
    w.banner.show_message("A notice " * 60, kind="warning", actions=[("a", "One"), ("b", "Two")])
    QApplication.processEvents()
    assert minimum_size(w)[0] <= before[0]
