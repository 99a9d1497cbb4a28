"""The compare view with real tiny models in real workers (pytest-qt, offscreen).

Set GPTOSS_WRITE_SCREENSHOTS=1 to refresh docs/screenshots/compare-*.png from these runs.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from gptoss_desktop.core.compare.engines import EnginePool
from gptoss_desktop.core.compare.runner import ColumnSetup, CompareSettings
from gptoss_desktop.core.engine import SamplingOptions
from gptoss_desktop.core.store.store import Store
from tests.helpers import PROJECT_MODELS, project_model, save_screenshot, shared_model

pytestmark = pytest.mark.timeout(120)
# One thread per worker: on a busy 2-core machine two threads per tiny model are ~10x slower.
LONG = CompareSettings(
    sampling=SamplingOptions(temperature=0.0), max_tokens=600, n_ctx=1024, n_threads=1
)
SHORT = CompareSettings(sampling=SamplingOptions(temperature=0.0), max_tokens=40, n_ctx=512)


def models() -> list[ColumnSetup]:
    """What the view offers: a shared story model, the project's trained Harmony model when
    it has been generated, and the project's random gpt-oss model (it never stops early)."""
    offered = [ColumnSetup(shared_model("stories260K.gguf"), label="stories260K")]
    trained = PROJECT_MODELS / "tiny-harmony.gguf"
    if trained.is_file():
        offered.append(ColumnSetup(trained, label="tiny-harmony"))
    offered.append(
        ColumnSetup(project_model("tiny-gptoss-random.gguf"), label="tiny-gptoss-random")
    )
    return offered


def names() -> list[str]:
    """The models of the two columns by default."""
    return [s.name for s in models()[:2]]


def use_long_writers(view: Any) -> None:
    """Column 1 gets the random gpt-oss model: it writes until max_tokens, like stories260K."""
    view.columns[1].select_model(models()[-1])


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "app.db") as s:
        yield s


@pytest.fixture
def pool() -> Iterator[EnginePool]:
    with EnginePool() as p:
        yield p


def make_view(qtbot: Any, store: Store, pool: EnginePool, settings: CompareSettings) -> Any:
    from gptoss_desktop.ui.compare import CompareView

    view = CompareView(store, models(), pool=pool, settings=settings)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    return view


def wait_done(qtbot: Any, view: Any, timeout: int = 60_000) -> None:
    qtbot.waitUntil(lambda: view.run is not None and view.run.finished, timeout=timeout)
    qtbot.waitUntil(lambda: view.send_button.isEnabled(), timeout=5_000)


def test_two_columns_stream_at_once(
    qtbot: Any, store: Store, pool: EnginePool, tmp_path: Path
) -> None:
    from PySide6.QtCore import QTimer

    view = make_view(qtbot, store, pool, LONG)
    seen_both: list[bool] = []
    shot: list[bool] = []

    def chars(column: Any) -> int:
        return len(column.answer.toPlainText()) + len(column.reasoning.toPlainText())

    def on_text(*_: object) -> None:
        a, b = view.columns
        if a.state == b.state == "streaming" and chars(a) and chars(b):
            seen_both.append(True)
            if not shot and min(chars(a), chars(b)) >= 150:
                shot.append(True)  # grab once this flush has updated every label
                QTimer.singleShot(
                    0, lambda: save_screenshot(view, "compare-streaming.png", tmp_path)
                )

    use_long_writers(view)
    run = view.start_comparison("Once upon a time")
    assert run is not None and run.wait_planned(30).concurrent
    qtbot.waitUntil(lambda: view.banner.label.text().startswith("All 2 models at once"))
    view._adapter.sig_text.connect(on_text)
    wait_done(qtbot, view)
    assert seen_both, "both columns never streamed at the same time"
    a, b = view.columns
    assert a.answer.toPlainText().startswith(", there was a little girl named Lily")
    assert a.state == b.state == "done"
    assert "tokens/s" in a.metrics_label.text()
    assert "first token after" in b.metrics_label.text()
    # The chart compares the finished columns.
    assert view.chart.isVisible()
    rows = {title: values for title, values, _ in view.chart.rows()}
    assert all(v is not None and v > 0 for v in rows["Generation speed"])
    assert rows["Tokens written"][0] == 600
    save_screenshot(view.chart, "compare-chart.png", tmp_path)
    # ... and it was saved, columns done, with their metrics.
    saved = store.comparisons.get(view.comparison_id)
    assert [c.status for c in saved.columns] == ["done", "done"]
    assert saved.columns[0].output == a.answer.toPlainText()
    assert saved.columns[0].metrics is not None and saved.columns[0].metrics["tokens"] == 600
    # Updates were batched: far fewer repaints than tokens.
    assert view._adapter.flushes < 600 / 4


def test_killed_worker_shows_in_its_column_only(qtbot: Any, store: Store, pool: EnginePool) -> None:
    view = make_view(qtbot, store, pool, LONG)
    survivor_model = shared_model("stories260K.gguf")
    view.columns[1].select_model(ColumnSetup(survivor_model, label="stories260K"))
    killed: list[int] = []

    def kill_first(position: int, channel: str, text: str) -> None:
        if position == 0 and not killed:
            client = pool.get(0)
            assert client is not None
            killed.append(client.pid)
            os.kill(client.pid, signal.SIGKILL)

    view.start_comparison("Once upon a time")
    view._adapter.sig_text.connect(kill_first)
    wait_done(qtbot, view)
    victim, survivor = view.columns
    assert killed
    assert victim.state == "error" and victim.error_label.isVisible()
    assert "SIGKILL" in victim.error_label.text()
    assert survivor.state == "done" and not survivor.error_label.isVisible()
    assert len(survivor.answer.toPlainText()) > 1000  # all 600 tokens
    assert view.banner.kind == "info"  # the view itself reports no error
    # The next comparison starts a fresh worker for the crashed column.
    view.max_tokens.setValue(20)
    view.start_comparison("Once upon a time")
    wait_done(qtbot, view)
    assert [c.state for c in view.columns] == ["done", "done"]
    assert pool.get(0) is not None and pool.get(0).pid != killed[0]


def test_blind_vote_is_recorded_and_names_revealed(
    qtbot: Any, store: Store, pool: EnginePool, tmp_path: Path
) -> None:
    view = make_view(qtbot, store, pool, SHORT)
    view.blind_box.setChecked(True)
    view.start_comparison("Say hello to Alice.")
    titles = [c.title.text() for c in view.columns]
    assert titles == ["Model A", "Model B"]
    assert not any(c.model_box.isVisible() for c in view.columns)
    wait_done(qtbot, view)
    assert view.vote_bar.isVisible() and not view.export_button.isEnabled()
    assert [c.title.text() for c in view.columns] == ["Model A", "Model B"]
    save_screenshot(view, "compare-blind.png", tmp_path)
    shown = view.order.shown
    view.vote_bar.buttons["left"].click()
    vote = store.comparisons.get(view.comparison_id).vote
    assert vote is not None and vote.outcome == "win"
    assert vote.shown_order == shown and vote.winner_position == shown[0]
    labels = names()
    assert view.columns[0].title.text() == f"Model A: {labels[shown[0]]}"
    assert view.columns[1].title.text() == f"Model B: {labels[shown[1]]}"
    assert labels[shown[0]] in view.vote_bar.result.text()
    assert view.export_button.isEnabled()


def test_leaderboard_dialog_numbers(qtbot: Any, store: Store, pool: EnginePool) -> None:
    """A beats B, then a tie, then both bad (hand-computed, see the core ratings test):
    A 1014.53 -> "1015", win rate 75%; B 985.47 -> "985", 25%; 2 rated votes each."""
    from gptoss_desktop.core.store.records import ColumnSpec

    for t, outcome, winner in ((1.0, "win", 0), (2.0, "tie", None), (3.0, "all_bad", None)):
        comp = store.comparisons.create("p", [ColumnSpec("A"), ColumnSpec("B")])
        store.votes.record(
            comp.id, shown_order=[1, 0], outcome=outcome, winner_position=winner, created_at=t
        )
    view = make_view(qtbot, store, pool, SHORT)
    dialog = view.show_leaderboard()
    qtbot.addWidget(dialog)
    rows = [[dialog.cell(r, c) for c in range(9)] for r in range(dialog.table.rowCount())]
    assert rows == [
        ["1", "A", "1015", "75%", "2", "1", "0", "1", "1"],
        ["2", "B", "985", "25%", "2", "0", "1", "1", "1"],
    ]
    assert not dialog.empty.isVisible()


def test_reopen_a_saved_comparison(qtbot: Any, store: Store, pool: EnginePool) -> None:
    from gptoss_desktop.ui.compare import CompareView

    view = make_view(qtbot, store, pool, SHORT)
    view.start_comparison("Once upon a time")
    wait_done(qtbot, view)
    answers = [c.answer.toPlainText() for c in view.columns]
    summaries = [c.metrics_label.text() for c in view.columns]
    cid = view.comparison_id
    other = CompareView(store, models(), pool=pool)
    qtbot.addWidget(other)
    other.show()
    other.open_comparison(cid)
    assert [c.answer.toPlainText() for c in other.columns] == answers
    assert [c.metrics_label.text() for c in other.columns] == summaries
    assert [c.state for c in other.columns] == ["done", "done"]
    assert other.composer.toPlainText() == "Once upon a time"
    assert other.chart.isVisible() and other.export_button.isEnabled()
    assert [c.title.text() for c in other.columns] == names()


def test_reopened_blind_comparison_stays_hidden_until_voted(
    qtbot: Any, store: Store, pool: EnginePool
) -> None:
    from gptoss_desktop.ui.compare import CompareView

    view = make_view(qtbot, store, pool, SHORT)
    view.blind_box.setChecked(True)
    view.start_comparison("Once upon a time")
    wait_done(qtbot, view)
    shown = view.order.shown
    other = CompareView(store, models(), pool=pool)
    qtbot.addWidget(other)
    other.open_comparison(view.comparison_id)
    assert [c.title.text() for c in other.columns] == ["Model A", "Model B"]
    assert other.order.shown == shown and not other.export_button.isEnabled()
    other.vote_bar.buttons["tie"].click()
    vote = store.comparisons.get(view.comparison_id).vote
    assert vote is not None and vote.outcome == "tie" and vote.shown_order == shown
    assert other.columns[0].title.text().startswith("Model A: ")


def test_export_markdown_json_csv(
    qtbot: Any, store: Store, pool: EnginePool, tmp_path: Path
) -> None:
    view = make_view(qtbot, store, pool, SHORT)
    view.start_comparison("Once upon a time")
    wait_done(qtbot, view)
    md = view.export_to(tmp_path / "c.md", "markdown").read_text(encoding="utf-8")
    assert all(name in md for name in names()) and "Once upon a time" in md
    data = json.loads(view.export_to(tmp_path / "c.json", "json").read_text(encoding="utf-8"))
    assert json.dumps(data).count("there was a little girl") >= 1
    rows = list(
        csv.DictReader(io.StringIO((view.export_to(tmp_path / "c.csv", "csv")).read_text()))
    )
    assert [r["model"] for r in rows] == names()
    assert all(float(r["tokens_per_s"]) > 0 and r["ttft_s"] for r in rows)


def test_stop_one_column_and_sequential_plan(qtbot: Any, store: Store, pool: EnginePool) -> None:
    settings = replace(LONG, schedule="sequential")
    view = make_view(qtbot, store, pool, settings)
    use_long_writers(view)
    view.start_comparison("Once upon a time")
    qtbot.waitUntil(lambda: view.banner.label.text() == "One model after another, as chosen.")
    qtbot.waitUntil(lambda: view.columns[0].state == "streaming", timeout=30_000)
    assert view.columns[1].state == "queued"
    view.columns[0].cancel_button.click()
    wait_done(qtbot, view)
    assert view.columns[0].state == "cancelled"
    assert view.columns[1].state == "done"


def test_synchronized_scrolling(qtbot: Any, store: Store, pool: EnginePool) -> None:
    view = make_view(qtbot, store, pool, SHORT)
    for column in view.columns:
        column.set_texts("\n".join(f"line {i}" for i in range(400)), "")
    a, b = (c.answer.verticalScrollBar() for c in view.columns)
    a.setValue(a.maximum() // 2)
    assert b.value() == 0  # off by default
    view.sync_box.setChecked(True)
    a.setValue(a.maximum())
    assert b.value() == b.maximum() > 0


def test_a_store_failure_is_shown_and_the_run_still_finishes(
    qtbot: Any, store: Store, pool: EnginePool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gptoss_desktop.core.errors import StoreError

    def disk_full(*args: object, **kwargs: object) -> None:
        raise StoreError("Could not save to the chat database: the disk is full.")

    view = make_view(qtbot, store, pool, SHORT)
    monkeypatch.setattr(store.comparisons, "update_column", disk_full)
    view.start_comparison("Once upon a time")
    wait_done(qtbot, view)
    assert [c.state for c in view.columns] == ["done", "done"]
    assert view.banner.kind == "error"
    assert view.banner.label.text() == (
        "The comparison could not be saved: Could not save to the chat database: the disk is full."
    )


def test_four_columns_blind_vote_names_a_slot(qtbot: Any, store: Store, pool: EnginePool) -> None:
    view = make_view(qtbot, store, pool, SHORT)
    view.column_count.setValue(4)
    assert len(view.columns) == 4
    view.blind_box.setChecked(True)
    view.start_comparison("Once upon a time")
    wait_done(qtbot, view)
    assert [c.state for c in view.columns] == ["done"] * 4
    assert set(view.vote_bar.buttons) == {
        "Model A",
        "Model B",
        "Model C",
        "Model D",
        "tie",
        "all_bad",
    }
    view.vote_bar.buttons["Model C"].click()
    vote = store.comparisons.get(view.comparison_id).vote
    assert vote is not None and vote.winner_position == view.order.shown[2]
    assert len(vote.shown_order) == 4
    view.column_count.setValue(2)
    assert len(view.columns) == 2


def test_the_chosen_effort_goes_to_every_column(qtbot: Any, store: Store, pool: EnginePool) -> None:
    view = make_view(qtbot, store, pool, replace(SHORT, reasoning_effort="low"))
    assert view.effort.currentText() == "low"
    view.effort.setCurrentText("high")
    assert view.shared_settings().reasoning_effort == "high"
