"""CompareRun: one prompt fanned out to 2-4 models, each in its own worker, on its own thread.

Concurrent when the memory estimate of all models fits (threads divided between the
workers), otherwise one after another, saying why (:mod:`.scheduling`). The same sampling
settings and seed go to every column unless a column overrides them. Each column streams
on its own: a crash, a template error or a cancel ends that column only.

Reports go to a plain callable (``listener``) from the column threads; the UI adapts them
to Qt signals. ``wait()`` blocks until every column has ended.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from gptoss_desktop.core.chat.session import SessionSettings, history_from_chat
from gptoss_desktop.core.chat.sessions import open_session
from gptoss_desktop.core.compare.blind import BlindOrder
from gptoss_desktop.core.compare.engines import EnginePool, MeteredEngine
from gptoss_desktop.core.compare.metrics import ColumnMetrics, LiveMeter, process_peak_rss
from gptoss_desktop.core.compare.scheduling import (
    MemoryEstimator,
    SchedulePlan,
    default_memory_estimate,
    plan_schedule,
    threads_for,
)
from gptoss_desktop.core.compare.updates import (
    ColumnEnded,
    ColumnMetricsChanged,
    ColumnResult,
    ColumnSetup,
    ColumnState,
    ColumnStateChanged,
    ColumnText,
    CompareSettings,
    Listener,
    RunEnded,
    RunPlanned,
    RunUpdate,
)
from gptoss_desktop.core.engine import LoadOptions, SamplingOptions
from gptoss_desktop.core.errors import GptossError, WorkerCrashed
from gptoss_desktop.core.harmony.cancel import CancelToken
from gptoss_desktop.core.harmony.parse import ContentDelta
from gptoss_desktop.core.harmony.session import GenerationFinished
from gptoss_desktop.core.library.fit import MemoryInfo
from gptoss_desktop.core.templating.templates import ChatMessage

MAX_COLUMNS = 4
RSS_POLL_S = 0.25

_log = logging.getLogger(__name__)

__all__ = [
    "ColumnEnded",
    "ColumnMetricsChanged",
    "ColumnResult",
    "ColumnSetup",
    "ColumnState",
    "ColumnStateChanged",
    "ColumnText",
    "CompareRun",
    "CompareSettings",
    "Listener",
    "RunEnded",
    "RunPlanned",
    "RunUpdate",
]


class CompareRun:
    def __init__(
        self,
        columns: Sequence[ColumnSetup],
        settings: CompareSettings | None = None,
        *,
        pool: EnginePool,
        listener: Listener | None = None,
        estimator: MemoryEstimator = default_memory_estimate,
        available_memory: int | None = None,
        memory: MemoryInfo | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not 1 <= len(columns) <= MAX_COLUMNS:
            raise ValueError(f"a comparison has 1 to {MAX_COLUMNS} columns, not {len(columns)}")
        self.columns = tuple(columns)
        self.settings = settings or CompareSettings()
        self.pool = pool
        self._listener = listener or (lambda update: None)
        self._estimator = estimator
        self._available = available_memory
        self._memory = memory  # RAM and GPU (the worker's backend report): plans offload
        rng = rng or random.Random()
        seed = self.settings.sampling.seed
        self.seed: int = seed if seed is not None else rng.randrange(1 << 31)
        n = len(self.columns)
        self.blind = BlindOrder.shuffled(n, rng) if self.settings.blind else BlindOrder.identity(n)
        self.plan: SchedulePlan | None = None
        self.prompt = ""
        self.history: tuple[ChatMessage, ...] = ()
        self._lock = threading.Lock()
        self._states: list[ColumnState] = ["pending"] * n
        self._results: list[ColumnResult | None] = [None] * n
        self._cancels = [CancelToken() for _ in range(n)]
        self._done = threading.Event()
        self._planned = threading.Event()
        self._threads: list[threading.Thread] = []

    # --- public -------------------------------------------------------------------------------
    def start(self, prompt: str, history: Sequence[ChatMessage] = ()) -> None:
        """Start the run and return at once.

        A coordinator thread makes the plan (reading model headers, freeing workers kept
        from earlier comparisons: slow work that must not hold up a GUI), reports it as
        :class:`RunPlanned`, then starts the columns. ``wait_planned()`` waits for it.
        """
        if self._threads:
            raise RuntimeError("a CompareRun runs once; make a new one for the next prompt")
        self.prompt, self.history = prompt, tuple(history)
        self._spawn("compare-coordinator", self._coordinate)

    def wait_planned(self, timeout: float | None = None) -> SchedulePlan:
        if not self._planned.wait(timeout):
            raise TimeoutError(f"the comparison was not planned within {timeout} s")
        assert self.plan is not None
        return self.plan

    def _coordinate(self) -> None:
        paths = [c.model_path for c in self.columns]
        try:
            plan = plan_schedule(
                paths,
                self.settings.n_ctx,
                choice=self.settings.schedule,
                estimator=self._estimator,
                available=self._available,
                n_threads=self.settings.n_threads,
                already_loaded=[self.pool.is_loaded(i, p) for i, p in enumerate(paths)],
                memory=self._memory,
                n_cpu_moe=self.settings.n_cpu_moe,
            )
        except Exception as exc:  # an estimator's bug: run one by one, and say so
            _log.exception("compare planning failed")
            n = len(paths)
            plan = SchedulePlan(
                "sequential", f"one after another: the memory estimate failed ({exc})",
                (self.settings.n_threads or threads_for(1),) * n, (0,) * n, None,
            )  # fmt: skip
        self.plan = plan
        self._planned.set()
        self._emit(RunPlanned(plan))
        if plan.concurrent:
            self.pool.release_others(set(range(len(self.columns))))
            for pos in range(len(self.columns)):
                self._spawn(f"compare-column-{pos}", self._run_column, pos)
        else:
            for pos in range(1, len(self.columns)):
                self._set_state(pos, "queued", plan.reason)
            self.pool.close()  # free the memory of workers kept from earlier comparisons
            self._run_sequentially()

    def cancel(self, position: int | None = None) -> None:
        """Cancel one column, or all of them (``None``); from any thread."""
        targets = range(len(self.columns)) if position is None else [position]
        for pos in targets:
            self._cancels[pos].cancel()

    def wait(self, timeout: float | None = None) -> tuple[ColumnResult, ...]:
        if not self._done.wait(timeout):
            raise TimeoutError(f"the comparison did not finish within {timeout} s")
        return self.results

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def results(self) -> tuple[ColumnResult, ...]:
        with self._lock:
            return tuple(
                r if r is not None else self._pending_result(i) for i, r in enumerate(self._results)
            )

    def state(self, position: int) -> ColumnState:
        with self._lock:
            return self._states[position]

    def sampling_for(self, position: int) -> SamplingOptions:
        """The column's sampling: its override or the shared one, with the run's seed."""
        own = self.columns[position].sampling
        base = own or self.settings.sampling
        return replace(base, seed=base.seed if own and own.seed is not None else self.seed)

    # --- threads ------------------------------------------------------------------------------
    def _spawn(self, name: str, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _run_sequentially(self) -> None:
        for pos in range(len(self.columns)):
            self._run_column(pos)
            self.pool.release(pos)

    def _run_column(self, pos: int) -> None:
        try:
            result = self._column(pos)
        except Exception as exc:  # a bug of ours: show it in the column, never lose it
            result = self._result(
                pos, "error", error=f"Unexpected error: {exc}", details=traceback.format_exc()
            )
        self._finish(pos, result)

    def _column(self, pos: int) -> ColumnResult:
        setup = self.columns[pos]
        assert self.plan is not None
        n_threads = self.plan.n_threads[pos]
        cancel = self._cancels[pos]
        if cancel.cancelled:
            return self._result(pos, "cancelled")
        self._set_state(pos, "loading", f"loading {setup.name}")
        n_gpu_layers, n_cpu_moe = self.plan.offload(pos)
        options = LoadOptions(
            n_ctx=self.settings.n_ctx,
            n_threads=n_threads,
            n_gpu_layers=n_gpu_layers,
            n_cpu_moe=n_cpu_moe,
        )
        sampling = self.sampling_for(pos)
        max_tokens = setup.max_tokens or self.settings.max_tokens
        meter = LiveMeter(n_threads=n_threads)
        next_rss = 0.0

        def on_batch(tokens: int, t: float) -> None:
            nonlocal next_rss
            rss = None
            if time.monotonic() >= next_rss:
                rss, next_rss = process_peak_rss(client.pid), time.monotonic() + RSS_POLL_S
            self._emit(ColumnMetricsChanged(pos, meter.on_tokens(tokens, t, rss)))

        t0 = time.perf_counter()
        try:
            client = self.pool.acquire(pos, setup.model_path, options)
            meter.metrics = replace(meter.metrics, load_s=time.perf_counter() - t0)
            system = setup.system_prompt
            rules = SessionSettings(
                instructions=self.settings.system_prompt if system is None else system,
                reasoning_effort=self.settings.reasoning_effort,
            )
            session = open_session(
                MeteredEngine(client, on_batch),
                rules,
                history_from_chat(self.history),
                sampling=sampling,
                max_tokens=max_tokens,
                template_override=setup.template_override,
            )
        except GptossError as exc:
            return self._result(pos, "error", error=exc.message, details=exc.details)
        settings = {
            "sampling": sampling.to_wire(),
            "max_tokens": max_tokens,
            "n_ctx": self.settings.n_ctx,
            "n_threads": n_threads,
            "n_gpu_layers": n_gpu_layers,
            "n_cpu_moe": n_cpu_moe,
            "format": str(getattr(session, "format", "harmony")),
        }
        answer: list[str] = []
        reasoning: list[str] = []

        def on_event(event: object) -> None:
            if isinstance(event, ContentDelta):
                channel = "final" if event.channel in ("final", None) else "analysis"
                (answer if channel == "final" else reasoning).append(event.text)
                self._emit(ColumnText(pos, channel, event.text))
            elif isinstance(event, GenerationFinished):
                peak = process_peak_rss(client.pid)
                self._emit(ColumnMetricsChanged(pos, meter.on_finished(event.metrics, peak)))

        error: GptossError | None = None
        if cancel.cancelled:
            return self._result(pos, "cancelled", settings=settings)
        self._set_state(pos, "streaming")
        try:
            session.send(self.prompt, on_event=on_event, cancel=cancel)
        except WorkerCrashed as exc:
            self.pool.release(pos)
            error = exc
        except GptossError as exc:
            error = exc
        text, thoughts = "".join(answer), "".join(reasoning)
        if error is not None:
            return self._result(
                pos, "error", text, thoughts, meter.metrics,
                error=error.message, details=error.details, settings=settings,
            )  # fmt: skip
        state: ColumnState = "cancelled" if cancel.cancelled else "done"
        return self._result(pos, state, text, thoughts, meter.metrics, settings=settings)

    # --- bookkeeping ----------------------------------------------------------------------------
    def _set_state(self, pos: int, state: ColumnState, message: str = "") -> None:
        with self._lock:
            self._states[pos] = state
        self._emit(ColumnStateChanged(pos, state, message))

    def _result(
        self,
        pos: int,
        state: ColumnState,
        answer: str = "",
        reasoning: str = "",
        metrics: ColumnMetrics | None = None,
        *,
        error: str | None = None,
        details: str = "",
        settings: dict[str, Any] | None = None,
    ) -> ColumnResult:
        setup = self.columns[pos]
        return ColumnResult(
            position=pos,
            label=setup.name,
            model_path=str(setup.model_path),
            state=state,
            answer=answer,
            reasoning=reasoning,
            metrics=metrics or ColumnMetrics(),
            error=error,
            error_details=details,
            settings=settings or {},
        )

    def _pending_result(self, pos: int) -> ColumnResult:
        return self._result(pos, self._states[pos])

    def _finish(self, pos: int, result: ColumnResult) -> None:
        with self._lock:
            self._results[pos] = result
            self._states[pos] = result.state
            all_done = all(r is not None for r in self._results)
        self._emit(ColumnStateChanged(pos, result.state, result.error or ""))
        self._emit(ColumnEnded(result))
        if all_done:
            self._emit(RunEnded(self.results))
            self._done.set()

    def _emit(self, update: RunUpdate) -> None:
        try:
            self._listener(update)
        except Exception:  # a listener's bug must not stop a column; it goes to the log
            _log.exception("compare listener failed on %s", type(update).__name__)
