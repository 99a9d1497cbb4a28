"""The compare view's parts without models: batching adapter, chart arithmetic, leaderboard."""

from __future__ import annotations

import threading
from typing import Any

from gptoss_desktop.core.compare.metrics import ColumnMetrics
from gptoss_desktop.core.compare.ratings import Standing
from gptoss_desktop.core.compare.runner import (
    ColumnEnded,
    ColumnMetricsChanged,
    ColumnResult,
    ColumnStateChanged,
    ColumnText,
    RunEnded,
)


def test_adapter_batches_in_order_from_other_threads(qtbot: Any) -> None:
    from gptoss_desktop.ui.compare.run_adapter import CompareRunAdapter

    adapter = CompareRunAdapter()
    got: list[tuple] = []
    adapter.sig_text.connect(lambda p, c, t: got.append(("text", p, c, t)))
    adapter.sig_metrics.connect(lambda p, m: got.append(("metrics", p, m.tokens)))
    adapter.sig_state.connect(lambda p, s, m: got.append(("state", p, s)))
    adapter.sig_column_ended.connect(lambda r: got.append(("ended", r.position)))
    adapter.sig_run_ended.connect(lambda rs: got.append(("run", len(rs))))
    result = ColumnResult(position=0, label="m", model_path="m.gguf", state="done")

    def column_thread() -> None:
        adapter(ColumnStateChanged(0, "streaming"))
        for i in range(500):
            adapter(ColumnMetricsChanged(0, ColumnMetrics(tokens=i + 1)))
            adapter(ColumnText(0, "analysis" if i < 100 else "final", "x"))
        adapter(ColumnEnded(result))
        adapter(RunEnded((result,)))

    thread = threading.Thread(target=column_thread)
    thread.start()
    thread.join()
    qtbot.waitUntil(lambda: bool(got) and got[-1] == ("run", 1), timeout=5000)
    texts = [g for g in got if g[0] == "text"]
    assert "".join(t[3] for t in texts if t[2] == "analysis") == "x" * 100
    assert "".join(t[3] for t in texts if t[2] == "final") == "x" * 400
    assert len(texts) <= 4  # 1000 updates, a handful of signals
    assert got.index(("ended", 0)) > max(got.index(t) for t in texts)
    assert [g for g in got if g[0] == "metrics"][-1] == ("metrics", 0, 500)
    assert got[0] == ("state", 0, "streaming")


def test_chart_marks_the_best_column_per_figure(qtbot: Any) -> None:
    from gptoss_desktop.ui.compare.metrics_chart import MetricsChart

    chart = MetricsChart()
    qtbot.addWidget(chart)
    fast = ColumnMetrics(ttft_s=0.2, tokens_per_s=50.0, tokens=100, peak_rss_bytes=2_000_000_000)
    slow = ColumnMetrics(ttft_s=0.1, tokens_per_s=20.0, tokens=100, peak_rss_bytes=3_000_000_000)
    chart.set_data(["a", "b"], [fast, slow])
    rows = {title: (values, best) for title, values, best in chart.rows()}
    assert rows["Time to first token"] == ([0.2, 0.1], 1)  # lower is better
    assert rows["Generation speed"] == ([50.0, 20.0], 0)
    assert rows["Tokens written"] == ([100.0, 100.0], None)  # length: no winner
    slower = ColumnMetrics(tokens_per_s=50.0)
    chart.set_data(["a", "b", "c"], [fast, slow, slower])
    assert chart.rows()[1] == ("Generation speed", [50.0, 20.0, 50.0], None)  # a tie: no star
    chart.set_data(["a", "b"], [fast, slow])
    assert rows["Peak memory"][1] == 0
    assert rows["Prompt speed"] == ([None, None], None)
    chart.resize(900, chart.sizeHint().height())
    assert not chart.grab().isNull()


def test_leaderboard_cells(qtbot: Any) -> None:
    from gptoss_desktop.ui.compare.leaderboard import LeaderboardDialog

    dialog = LeaderboardDialog([Standing("gpt-oss", 1031.5, 3, 2, 1, 0, 1)])
    qtbot.addWidget(dialog)
    assert [dialog.cell(0, c) for c in range(9)] == [
        "1", "gpt-oss", "1032", "67%", "3", "2", "1", "0", "1",
    ]  # fmt: skip
    empty = LeaderboardDialog([])
    qtbot.addWidget(empty)
    assert empty.table.rowCount() == 0 and not empty.empty.isHidden()
