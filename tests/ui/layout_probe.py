"""The window with every panel open, and every dialog, for the layout test and bench/ui.py.

The issue's bar: each must fit a 1024x700 screen (a common laptop at 150 % scaling), that is,
its minimumSizeHint must be no larger, whatever panel is open and whatever it shows.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

SCREEN = (1024, 700)
LONG_FUNCTION = {
    "name": "look_up_the_current_weather_in_a_city_with_a_long_name",
    "description": "A function with a long name, so the tool panel's summary is long.",
    "parameters": {"type": "object", "properties": {"location": {"type": "string"}}},
    "binding": "human",
}


def open_all_panels(window: Any, process_events: Any) -> None:
    """Chat settings and the tool panel open, tools enabled (long names), compare opened,
    then back to the chat with its panels (the compare page stays in the window's stack)."""
    window.show_chat()
    tools = window.tools  # attaches the tool panel
    settings = replace(
        window.chat.settings,
        enabled_tools=("python", "browser"),
        function_tools=(LONG_FUNCTION,),
    )
    window.settings_panel.set_settings(settings)
    window.chat.update_settings(settings)
    tools.show_summary(settings)
    window.library.show_compare()
    process_events()
    window.show_chat()
    for dock in window.side_docks:
        dock.show()
    tools.dock.raise_()
    process_events()


def minimum_size(window: Any) -> tuple[int, int]:
    hint = window.minimumSizeHint().expandedTo(window.minimumSize())
    return hint.width(), hint.height()


def dialogs(window: Any) -> dict[str, Any]:
    """Every window and dialog the app opens besides the main window, built (not shown)."""
    from gptoss_desktop.core.chat.tools import ChatToolConfig
    from gptoss_desktop.core.compare.ratings import Standing
    from gptoss_desktop.core.engine.options import SamplingOptions
    from gptoss_desktop.ui.compare.leaderboard import LeaderboardDialog
    from gptoss_desktop.ui.compare.overrides import ColumnOverridesDialog
    from gptoss_desktop.ui.errors import ErrorDialog
    from gptoss_desktop.ui.tools import ToolConfigEditor

    if window.compare_page is None:
        window.library.show_compare()
        window.show_chat()
    from gptoss_desktop.core.compare.metrics import ColumnMetrics

    for column in window.compare_page.columns:  # the longest footer a column shows
        column.set_metrics(
            ColumnMetrics(
                ttft_s=1.25,
                tokens_per_s=1299.6,
                prompt_tokens_per_s=12240.0,
                tokens=12345,
                peak_rss_bytes=12_400_000_000,
                final=True,
            )
        )
        column.show_error("The model could not be loaded: " + "x" * 200)
    long_name = "bartowski/a-model-with-a-very-long-file-name-Q4_K_M-imatrix-00001-of-00003"
    standings = [Standing(f"{long_name}-{i}", 1000.0 + i, 10, 5, 4, 1, 0) for i in range(3)]
    return {
        "compare": window.compare_page,
        "models": window.library.models_window(),
        "tool_config": ToolConfigEditor(
            ChatToolConfig.from_settings(window.chat.settings),
            window.tools.preferences,
            parent=window,
        ),
        "leaderboard": LeaderboardDialog(standings, window),
        "column_settings": ColumnOverridesDialog(None, SamplingOptions(), window),
        "error": ErrorDialog(
            "Could not load the model",
            "The file " + "x" * 300 + ".gguf is not a GGUF model file.",
            "Traceback\n" + "  line\n" * 200,
            window,
        ),
        "welcome": window.first_run,
    }
