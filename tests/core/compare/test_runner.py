"""CompareRun with real workers: concurrency, scheduling, crash and cancel isolation."""

from __future__ import annotations

import os
import random
import signal
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from gptoss_desktop.core.compare.engines import EnginePool
from gptoss_desktop.core.compare.metrics import process_peak_rss
from gptoss_desktop.core.compare.runner import (
    ColumnEnded,
    ColumnMetricsChanged,
    ColumnSetup,
    ColumnStateChanged,
    ColumnText,
    CompareRun,
    CompareSettings,
    RunEnded,
    RunPlanned,
    RunUpdate,
)
from gptoss_desktop.core.engine import SamplingOptions
from tests.helpers import project_model, shared_model

GREEDY = SamplingOptions(temperature=0.0)
SETTINGS = CompareSettings(sampling=GREEDY, max_tokens=48, n_ctx=2048)


@pytest.fixture
def pool() -> Iterator[EnginePool]:
    with EnginePool() as p:
        yield p


class Recorder:
    def __init__(self) -> None:
        self.updates: list[RunUpdate] = []
        self.lock = threading.Lock()

    def __call__(self, update: RunUpdate) -> None:
        with self.lock:
            self.updates.append(update)

    def of(self, kind: type) -> list:
        with self.lock:
            return [u for u in self.updates if isinstance(u, kind)]


def stories() -> Path:
    return shared_model("stories260K.gguf")


def test_two_models_stream_concurrently(pool: EnginePool) -> None:
    rec = Recorder()
    columns = [ColumnSetup(stories()), ColumnSetup(project_model("tiny-gptoss-random.gguf"))]
    run = CompareRun(columns, SETTINGS, pool=pool, listener=rec, available_memory=1 << 40)
    run.start("Once upon a time")
    plan = run.wait_planned(30)
    assert plan.mode == "concurrent" and "at once" in plan.reason
    assert plan.n_threads == (max(1, (os.cpu_count() or 1) // 2),) * 2
    results = run.wait(60)
    assert [r.state for r in results] == ["done", "done"]
    assert results[0].answer.startswith(", there was a little girl named Lily")
    assert results[0].settings["format"] == "completion"
    assert results[1].settings["format"] == "harmony"
    for r in results:
        assert r.metrics.final and r.metrics.tokens > 0 and r.metrics.ttft_s is not None
        assert r.metrics.peak_rss_bytes and r.metrics.peak_rss_bytes > 10_000_000
        assert r.settings["sampling"]["seed"] == run.seed  # the same seed for every column
        worker = pool.get(r.position)
        peak = process_peak_rss(worker.pid) if worker else None
        if peak is not None:  # Linux: the worker's own anonymous memory, not the app's
            assert abs((r.metrics.peak_rss_bytes or 0) - peak) < 8_000_000
    # Text arrived for both columns, with live metrics, and the run ended once.
    assert {u.position for u in rec.of(ColumnText)} >= {0}
    assert {u.position for u in rec.of(ColumnMetricsChanged)} == {0, 1}
    assert len(rec.of(RunEnded)) == 1 and len(rec.of(ColumnEnded)) == 2
    assert [u.plan for u in rec.of(RunPlanned)] == [plan]
    assert rec.updates[0] == RunPlanned(plan)
    # Both workers were alive at the same time (one process each).
    assert pool.get(0) is not None and pool.get(1) is not None
    assert pool.get(0).pid != pool.get(1).pid  # type: ignore[union-attr]


def test_workers_are_kept_between_comparisons(pool: EnginePool) -> None:
    columns = [ColumnSetup(stories()), ColumnSetup(stories(), label="again")]
    first = CompareRun(columns, SETTINGS, pool=pool, available_memory=1 << 40)
    first.start("Once upon a time")
    first.wait(60)
    pids = [pool.get(0).pid, pool.get(1).pid]  # type: ignore[union-attr]
    second = CompareRun(columns, SETTINGS, pool=pool, available_memory=1 << 40)
    second.start("Once upon a time")
    results = second.wait(60)
    assert [pool.get(0).pid, pool.get(1).pid] == pids  # type: ignore[union-attr]
    assert results[0].answer == results[1].answer  # same model, same greedy settings


def test_sequential_when_the_models_do_not_fit(pool: EnginePool) -> None:
    rec = Recorder()
    columns = [ColumnSetup(stories()), ColumnSetup(stories(), label="second")]
    run = CompareRun(
        columns,
        SETTINGS,
        pool=pool,
        listener=rec,
        estimator=lambda path, n_ctx: 6 * 10**9,
        available_memory=8 * 10**9,
    )
    run.start("Once upon a time")
    plan = run.wait_planned(30)
    assert plan.mode == "sequential"
    assert "one after another" in plan.reason and "12.0 GB" in plan.reason
    assert plan.n_threads == (os.cpu_count() or 1,) * 2
    results = run.wait(60)
    assert [r.state for r in results] == ["done", "done"]
    states = [(u.position, u.state) for u in rec.of(ColumnStateChanged)]
    assert states.index((1, "queued")) < states.index((0, "done")) < states.index((1, "streaming"))
    assert pool.get(0) is None and pool.get(1) is None  # each worker closed after its turn


def test_killed_worker_ends_its_column_only(pool: EnginePool) -> None:
    killed = threading.Event()

    def listener(update: RunUpdate) -> None:
        if isinstance(update, ColumnText) and update.position == 0 and not killed.is_set():
            killed.set()
            client = pool.get(0)
            assert client is not None
            os.kill(client.pid, signal.SIGKILL)

    columns = [ColumnSetup(stories(), max_tokens=1900), ColumnSetup(stories(), label="survivor")]
    run = CompareRun(columns, SETTINGS, pool=pool, listener=listener, available_memory=1 << 40)
    run.start("Once upon a time")
    victim, survivor = run.wait(60)
    assert killed.is_set()
    assert victim.state == "error"
    assert victim.error is not None and "SIGKILL" in victim.error and "\n" not in victim.error
    assert survivor.state == "done"
    assert survivor.answer.startswith(", there was a little girl named Lily")
    assert pool.get(0) is None  # the dead worker is gone; the next run starts a new one


def test_cancel_one_column(pool: EnginePool) -> None:
    run_box: list[CompareRun] = []

    def listener(update: RunUpdate) -> None:
        if isinstance(update, ColumnText) and update.position == 1:
            run_box[0].cancel(1)

    columns = [ColumnSetup(stories()), ColumnSetup(stories(), label="cancelled", max_tokens=1900)]
    run = CompareRun(columns, SETTINGS, pool=pool, listener=listener, available_memory=1 << 40)
    run_box.append(run)
    run.start("Once upon a time")
    kept, cancelled = run.wait(60)
    assert kept.state == "done" and kept.metrics.tokens == 48
    assert cancelled.state == "cancelled"
    assert 0 < cancelled.metrics.tokens < 1900
    assert cancelled.answer  # the partial answer stays


def test_template_error_stays_in_its_column(pool: EnginePool, chatml_model: Path) -> None:
    columns = [
        ColumnSetup(chatml_model, template_override="{{ ''.__class__.__mro__ }}"),
        ColumnSetup(chatml_model, label="fine"),
    ]
    run = CompareRun(columns, SETTINGS, pool=pool, available_memory=1 << 40)
    run.start("Hello")
    bad, good = run.wait(60)
    assert bad.state == "error" and bad.error is not None
    assert bad.error.startswith("The model's chat template tried something unsafe")
    assert good.state == "done" and good.settings["format"] == "template"


def test_shared_sampling_and_per_column_overrides(pool: EnginePool) -> None:
    own = SamplingOptions(temperature=0.5, top_p=0.9, seed=7)
    columns = [ColumnSetup(stories()), ColumnSetup(stories(), sampling=own)]
    settings = replace(SETTINGS, sampling=SamplingOptions(temperature=0.8))
    run = CompareRun(columns, settings, pool=pool, rng=random.Random(3))
    assert run.sampling_for(0) == SamplingOptions(temperature=0.8, seed=run.seed)
    assert run.sampling_for(1) == own  # its own seed too
    fixed = CompareRun(columns[:1], replace(SETTINGS, sampling=replace(GREEDY, seed=42)), pool=pool)
    assert fixed.seed == 42


def test_blind_run_shuffles_and_votes_map_back(pool: EnginePool) -> None:
    columns = [ColumnSetup(stories(), label=name) for name in ("alpha", "beta", "gamma")]
    run = CompareRun(columns, replace(SETTINGS, blind=True), pool=pool, rng=random.Random(7))
    assert sorted(run.blind.shown) == [0, 1, 2]
    assert run.blind.shown == (2, 1, 0)  # what this seed gives
    vote = run.blind.vote_for_slot(0)
    assert vote.outcome == "win" and vote.winner_position == run.blind.shown[0]
    assert run.blind.reveal([c.name for c in columns])[0] == columns[vote.winner_position].name


def test_cancel_all_before_start_work(pool: EnginePool) -> None:
    run = CompareRun([ColumnSetup(stories()), ColumnSetup(stories())], SETTINGS, pool=pool)
    run.cancel()
    run.start("Once upon a time")
    assert [r.state for r in run.wait(30)] == ["cancelled", "cancelled"]


def test_blind_order_shuffles_over_many_runs(pool: EnginePool) -> None:
    columns = [ColumnSetup(stories()), ColumnSetup(stories())]
    orders = {
        CompareRun(columns, replace(SETTINGS, blind=True), pool=pool).blind.shown for _ in range(64)
    }
    assert orders == {(0, 1), (1, 0)}  # both orders appear (fails with chance 2**-63)


def test_a_failing_estimator_falls_back_to_one_by_one(pool: EnginePool) -> None:
    def broken(path: Path, n_ctx: int) -> int:
        raise RuntimeError("estimator bug")

    run = CompareRun([ColumnSetup(stories()), ColumnSetup(stories())], SETTINGS, pool=pool,
                     estimator=broken)  # fmt: skip
    run.start("Once upon a time")
    results = run.wait(60)
    assert run.plan is not None and run.plan.mode == "sequential"
    assert "memory estimate failed (estimator bug)" in run.plan.reason
    assert [r.state for r in results] == ["done", "done"]


def _gpu_short_by(shape, n_ctx: int, layers: float):
    """A GPU whose free memory holds all but ``layers`` layers' experts of the model."""
    from gptoss_desktop.core.library.fit import GPU_HEADROOM, MemoryInfo, estimate_fit

    ram = MemoryInfo(total_ram=1 << 40, available_ram=1 << 40, gpu_total=1 << 40, gpu_free=1 << 40)
    need = estimate_fit(shape, ram, n_ctx).gpu_needed_bytes
    free = int((need - layers * shape.expert_layer_bytes()) / GPU_HEADROOM)
    return replace(ram, gpu_total=free, gpu_free=free, gpu_name="small GPU")


def test_gptoss_column_loads_with_the_planned_expert_offload() -> None:
    """A gpt-oss column on a GPU too small for it: the column's LoadOptions carry the fit
    plan's n_cpu_moe, and llama.cpp keeps those layers' experts in RAM (CPU build: logged)."""
    from gptoss_desktop.core.compare.engines import start_engine
    from gptoss_desktop.core.library.fit import ModelShape, estimate_fit
    from gptoss_desktop.core.library.gguf_info import read_gguf_info

    model = project_model("tiny-gptoss-random.gguf")  # 4 layers, MXFP4 experts
    shape = ModelShape.from_gguf(read_gguf_info(model))
    memory = _gpu_short_by(shape, SETTINGS.n_ctx, 1.5)
    planned = estimate_fit(shape, memory, SETTINGS.n_ctx).suggested_cpu_moe
    assert planned == 2  # all but 1.5 layers' experts fit: 2 layers keep theirs in RAM
    started: list = []

    def factory(path, options):
        started.append(options)
        return start_engine(path, options)

    with EnginePool(factory) as pool:
        columns = [ColumnSetup(model, "gpt-oss")]
        settings = replace(SETTINGS, max_tokens=8)
        run = CompareRun(columns, settings, pool=pool, available_memory=1 << 40, memory=memory)
        run.start("Hello")
        (result,) = run.wait(120)
        assert result.state == "done", result.error
        assert run.plan is not None and run.plan.offload(0) == (-1, 2)
        assert started[0].n_cpu_moe == 2 and started[0].n_gpu_layers == -1
        assert pool.get(0).info.tensors_overridden == 6  # gate, up and down of layers 0 and 1
        assert result.settings["n_cpu_moe"] == 2

        # The app's own setting wins over the plan.
        run = CompareRun(
            columns, replace(settings, n_cpu_moe=1), pool=pool, available_memory=1 << 40,
            memory=memory,
        )  # fmt: skip
        run.start("Hello")
        assert run.wait(120)[0].state == "done"
        assert started[-1].n_cpu_moe == 1 and pool.get(0).info.tensors_overridden == 3
