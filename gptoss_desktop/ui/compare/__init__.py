"""Compare mode's view: columns, live metrics, chart, blind votes, leaderboard, export."""

from gptoss_desktop.ui.compare.compare_view import CompareView

__all__ = ["CompareView"]
