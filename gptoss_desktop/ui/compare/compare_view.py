"""CompareView: 2-4 models side by side on one prompt, live metrics, blind votes, history.

A self-contained widget the main window hosts as a mode. It takes core objects: the
``Store`` (comparisons and votes are saved there), the models to offer (``ColumnSetup``
each), optionally an ``EnginePool`` (else it owns one) and shared ``CompareSettings``.
Runs are ``CompareRun``s; their updates reach the widgets through
:class:`CompareRunAdapter` (queued and batched), never from a worker thread.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gptoss_desktop.core.compare.blind import BlindOrder, slot_name
from gptoss_desktop.core.compare.engines import EnginePool
from gptoss_desktop.core.compare.metrics import ColumnMetrics
from gptoss_desktop.core.compare.recording import (
    ComparisonRecorder,
    record_vote,
    saved_blind_order,
    saved_columns,
    standings,
)
from gptoss_desktop.core.compare.runner import (
    ColumnResult,
    ColumnSetup,
    CompareRun,
    CompareSettings,
    RunUpdate,
)
from gptoss_desktop.core.compare.scheduling import SchedulePlan
from gptoss_desktop.core.engine import SamplingOptions
from gptoss_desktop.core.errors import GptossError
from gptoss_desktop.core.paths import write_private_text
from gptoss_desktop.core.store.store import Store
from gptoss_desktop.ui.compare.column_widget import CompareColumnWidget
from gptoss_desktop.ui.compare.compare_toolbar import EXPORT_SUFFIXES, CompareToolbar, export_text
from gptoss_desktop.ui.compare.leaderboard import LeaderboardDialog
from gptoss_desktop.ui.compare.metrics_chart import MetricsChart
from gptoss_desktop.ui.compare.overrides import ColumnOverridesDialog
from gptoss_desktop.ui.compare.run_adapter import CompareRunAdapter
from gptoss_desktop.ui.compare.scroll_sync import ScrollSync
from gptoss_desktop.ui.compare.vote_bar import VoteBar
from gptoss_desktop.ui.errors import Banner, describe


class CompareView(QWidget):
    #: a comparison was saved (its id), at the start of a run
    sig_comparison_saved = Signal(int)
    #: every column of the current run has ended
    sig_run_finished = Signal()

    def __init__(
        self,
        store: Store,
        models: Sequence[ColumnSetup],
        *,
        pool: EnginePool | None = None,
        settings: CompareSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("CompareView")
        self.store = store
        self.models = list(models)
        self._owns_pool = pool is None
        self.pool = pool or EnginePool()
        self.settings = settings or CompareSettings()
        self.run: CompareRun | None = None
        self.recorder: ComparisonRecorder | None = None
        self.comparison_id: int | None = None
        self.order = BlindOrder.identity(2)
        self.blind_hidden = False
        self.blind_run = False  # the comparison on screen is (or was) blind
        self.labels: list[str] = []
        self._overrides: dict[int, SamplingOptions] = {}
        self._adapter: CompareRunAdapter | None = None
        self._build()
        self.set_column_count(2)

    # --- layout ---------------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        self.toolbar = CompareToolbar(self.settings, self)
        tb = self.toolbar
        self.column_count, self.blind_box, self.sync_box = (
            tb.column_count,
            tb.blind_box,
            tb.sync_box,
        )
        self.temperature, self.max_tokens, self.seed = tb.temperature, tb.max_tokens, tb.seed
        self.effort = tb.effort
        self.history_menu, self.export_button = tb.history_menu, tb.export_button
        tb.column_count.valueChanged.connect(self.set_column_count)
        tb.history_menu.aboutToShow.connect(self._fill_history_menu)
        tb.leaderboard_button.clicked.connect(self.show_leaderboard)
        tb.sig_export.connect(self._export_dialog)
        layout.addWidget(tb)

        self.banner = Banner(self)
        layout.addWidget(self.banner)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        layout.addWidget(self.splitter, 1)
        self.columns: list[CompareColumnWidget] = []
        self.scroll_sync = ScrollSync()
        self.sync_box.toggled.connect(self.scroll_sync.set_enabled)

        self.vote_bar = VoteBar(self)
        self.vote_bar.sig_vote.connect(self.on_vote)
        layout.addWidget(self.vote_bar)
        self.chart = MetricsChart(self)
        self.chart.hide()
        layout.addWidget(self.chart)

        composer = QHBoxLayout()
        self.composer = QPlainTextEdit()
        self.composer.setPlaceholderText("One prompt for every column…")
        self.composer.setAccessibleName("Compare prompt")
        self.composer.setMaximumHeight(90)
        composer.addWidget(self.composer, 1)
        self.send_button = QPushButton("Compare")
        self.send_button.setObjectName("Primary")
        self.send_button.clicked.connect(lambda: self.start_comparison())
        composer.addWidget(self.send_button)
        self.stop_button = QPushButton("Stop all")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.cancel_all)
        composer.addWidget(self.stop_button)
        layout.addLayout(composer)

    @Slot(int)
    def set_column_count(self, n: int) -> None:
        if self.running:
            return
        n = max(2, min(4, n))
        while len(self.columns) < n:
            column = CompareColumnWidget(len(self.columns), self.models)
            column.sig_cancel.connect(self.on_cancel_slot)
            column.sig_settings.connect(self.on_column_settings)
            self.splitter.addWidget(column)
            self.columns.append(column)
        while len(self.columns) > n:
            self.columns.pop().deleteLater()
        self.scroll_sync.set_editors([c.answer for c in self.columns])
        if self.column_count.value() != n:
            self.column_count.setValue(n)

    # --- running --------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.finished

    def shared_settings(self) -> CompareSettings:
        seed = self.seed.value()
        sampling = replace(
            self.settings.sampling,
            temperature=self.temperature.value(),
            seed=None if seed < 0 else seed,
        )
        return replace(
            self.settings,
            sampling=sampling,
            max_tokens=self.max_tokens.value(),
            blind=self.blind_box.isChecked(),
            reasoning_effort=self.effort.currentText(),
        )

    def start_comparison(self, prompt: str | None = None) -> CompareRun | None:
        """Send ``prompt`` (or the composer's text) to every column; returns the run."""
        text = (prompt if prompt is not None else self.composer.toPlainText()).strip()
        if self.running or not text:
            return None
        setups = []
        for column in self.columns:
            setup = column.selected
            if setup is None:
                self.banner.show_message("Choose a model for every column first.", kind="warning")
                return None
            setups.append(replace(setup, sampling=self._overrides.get(column.position)))
        self.banner.hide()
        self.vote_bar.hide()
        self.chart.hide()
        self.export_button.setEnabled(False)
        adapter = CompareRunAdapter(self)
        adapter.sig_state.connect(self.on_state)
        adapter.sig_text.connect(self.on_text)
        adapter.sig_metrics.connect(self.on_metrics)
        adapter.sig_column_ended.connect(self.on_column_ended)
        adapter.sig_run_ended.connect(self.on_run_ended)
        recorder = ComparisonRecorder(self.store)

        def listener(update: RunUpdate) -> None:  # column threads
            recorder(update)
            adapter(update)

        run = CompareRun(setups, self.shared_settings(), pool=self.pool, listener=listener)
        try:
            self.comparison_id = recorder.begin(run, text)
        except GptossError as exc:
            self.banner.show_error(exc)
            return None
        self.run, self.recorder, self._adapter = run, recorder, adapter
        self.order = run.blind
        self.blind_hidden = self.blind_run = run.settings.blind
        self.labels = [s.name for s in setups]
        self._arrange(setups)
        adapter.sig_planned.connect(self.on_planned)
        run.start(text)
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.column_count.setEnabled(False)
        self.sig_comparison_saved.emit(self.comparison_id)
        return run

    def _arrange(self, setups: Sequence[ColumnSetup]) -> None:
        """Slot s shows column position order.shown[s]: titles hidden in blind mode."""
        for slot, widget in enumerate(self.columns):
            position = self.order.position_at(slot)
            widget.position = position
            widget.clear()
            widget.select_model(setups[position])
            widget.model_box.setVisible(not self.blind_hidden)
            widget.set_blind(self.blind_hidden)
            widget.set_title(self._title(slot))

    def _title(self, slot: int) -> str:
        if self.blind_hidden:
            return slot_name(slot)
        name = self.labels[self.order.position_at(slot)]
        return f"{slot_name(slot)}: {name}" if self.blind_run else name

    def widget_for(self, position: int) -> CompareColumnWidget:
        return next(w for w in self.columns if w.position == position)

    @Slot(object)
    def on_planned(self, plan: SchedulePlan) -> None:
        self.banner.show_message(plan.reason[0].upper() + plan.reason[1:] + ".", kind="info")

    @Slot(int, str, str)
    def on_state(self, position: int, state: str, message: str) -> None:
        self.widget_for(position).set_state(state, message)

    @Slot(int, str, str)
    def on_text(self, position: int, channel: str, text: str) -> None:
        self.widget_for(position).append_text(channel, text)

    @Slot(int, object)
    def on_metrics(self, position: int, metrics: ColumnMetrics) -> None:
        self.widget_for(position).set_metrics(metrics)

    @Slot(object)
    def on_column_ended(self, result: ColumnResult) -> None:
        widget = self.widget_for(result.position)
        widget.set_state(result.state, result.error or "")
        widget.set_metrics(result.metrics)
        if result.error:
            widget.show_error(result.error, result.error_details)

    @Slot(object)
    def on_run_ended(self, results: tuple[ColumnResult, ...]) -> None:
        if self.recorder is not None and self.recorder.error is not None:
            self.banner.show_message(
                f"The comparison could not be saved: {self.recorder.error.message}",
                kind="error",
                details=self.recorder.error.details,
            )
        self.send_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.column_count.setEnabled(True)
        self._show_chart([r.metrics for r in results])
        if self.blind_hidden:
            self.vote_bar.offer(len(results))
        else:
            self.export_button.setEnabled(self.comparison_id is not None)
        self.sig_run_finished.emit()

    def _show_chart(self, metrics_by_position: Sequence[ColumnMetrics]) -> None:
        slots = range(len(self.columns))
        self.chart.blind = self.blind_hidden
        self.chart.set_data(
            [self._title(s) for s in slots],
            [metrics_by_position[self.order.position_at(s)] for s in slots],
        )
        self.chart.show()

    @Slot(int)
    def on_cancel_slot(self, position: int) -> None:
        if self.run is not None:
            self.run.cancel(position)

    @Slot()
    def cancel_all(self) -> None:
        if self.run is not None:
            self.run.cancel()

    @Slot(int)
    def on_column_settings(self, position: int) -> None:
        dialog = ColumnOverridesDialog(
            self._overrides.get(position), self.shared_settings().sampling, self
        )
        if dialog.exec():
            own = dialog.sampling()
            if own is None:
                self._overrides.pop(position, None)
            else:
                self._overrides[position] = own

    # --- voting ---------------------------------------------------------------------------------
    @Slot(int, bool)
    def on_vote(self, slot: int, tie: bool) -> None:
        if self.comparison_id is None:
            return
        vote = self.order.vote_for_slot(slot if slot >= 0 else None, tie=tie)
        try:
            record_vote(self.store, self.comparison_id, vote)
        except GptossError as exc:
            self.banner.show_error(exc)
            return
        self.blind_hidden = False
        self.chart.blind = False
        for s, widget in enumerate(self.columns):
            widget.set_title(self._title(s))
            widget.model_box.show()
            widget.set_blind(False)
        self.chart.set_data([self._title(s) for s in range(len(self.columns))], self.chart.metrics)
        if vote.outcome == "win":
            assert vote.winner_position is not None
            said = f"You preferred {slot_name(self.order.slot_of(vote.winner_position))}: "
            said += self.labels[vote.winner_position]
        else:
            said = "You called it a tie" if vote.outcome == "tie" else "You found them all bad"
        names = ", ".join(
            f"{slot_name(s)} = {n}" for s, n in enumerate(self.order.reveal(self.labels))
        )
        self.vote_bar.show_result(f"{said}. Revealed: {names}.")
        self.export_button.setEnabled(True)

    def show_leaderboard(self) -> LeaderboardDialog:
        dialog = LeaderboardDialog(standings(self.store), self)
        dialog.show()
        return dialog

    # --- saved comparisons ----------------------------------------------------------------------
    def _fill_history_menu(self) -> None:
        self.history_menu.clear()
        recent = self.store.comparisons.list_recent(limit=20)
        if not recent:
            self.history_menu.addAction("No saved comparisons yet").setEnabled(False)
        for comp in recent:
            stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(comp.created_at))
            self.history_menu.addAction(
                f"{stamp}  {comp.title}", functools.partial(self.open_comparison, comp.id)
            )

    def open_comparison(self, comparison_id: int) -> None:
        """Show a saved comparison again (hidden names stay hidden until a vote)."""
        if self.running:
            self.banner.show_message("Wait for the comparison to finish first.", kind="warning")
            return
        try:
            comparison = self.store.comparisons.get(comparison_id)
        except GptossError as exc:
            self.banner.show_error(exc)
            return
        columns = saved_columns(comparison)
        self.set_column_count(len(columns))
        self.run = None
        self.comparison_id = comparison.id
        self.order, blind = saved_blind_order(comparison)
        self.blind_run = blind
        self.blind_hidden = blind and comparison.vote is None
        self.labels = [c.label for c in columns]
        self.composer.setPlainText(comparison.prompt)
        for slot, widget in enumerate(self.columns):
            column = columns[self.order.position_at(slot)]
            widget.position = column.position
            widget.clear()
            widget.set_texts(column.answer, column.reasoning)
            widget.set_state(column.status if column.status != "interrupted" else "cancelled")
            widget.set_metrics(column.metrics)
            if column.error:
                widget.show_error(column.error)
            widget.model_box.setVisible(not self.blind_hidden)
            widget.set_blind(self.blind_hidden)
            widget.set_title(self._title(slot))
        self._show_chart([c.metrics for c in columns])
        self.banner.show_message(f"Saved comparison: {comparison.title}", kind="info")
        if self.blind_hidden:
            self.vote_bar.offer(len(columns))
        else:
            self.vote_bar.hide()
        self.export_button.setEnabled(not self.blind_hidden)

    # --- export ---------------------------------------------------------------------------------
    def export_to(self, path: Path, fmt: str) -> Path:
        """Write the current comparison as ``fmt`` (markdown, json, csv) to ``path``."""
        if self.comparison_id is None:
            raise ValueError("no comparison to export")
        write_private_text(Path(path), export_text(self.store, self.comparison_id, fmt))
        return Path(path)

    @Slot(str)
    def _export_dialog(self, fmt: str) -> None:
        suffix = EXPORT_SUFFIXES[fmt]
        name, _ = QFileDialog.getSaveFileName(
            self, "Export comparison", f"comparison-{self.comparison_id}{suffix}"
        )
        if not name:
            return
        try:
            self.export_to(Path(name), fmt)
        except (OSError, GptossError) as exc:
            message, details = describe(exc)
            self.banner.show_message(message, kind="error", details=details)

    # --- life cycle -----------------------------------------------------------------------------
    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every column and, when this view owns them, the workers."""
        if self.run is not None:
            self.run.cancel()
            with contextlib.suppress(TimeoutError):
                self.run.wait(timeout)
        if self._adapter is not None:
            self._adapter.flush()
        if self._owns_pool:
            self.pool.close()
