"""Decide how compare columns run: all at once when they fit in memory, else one by one.

The memory estimate is pluggable (``MemoryEstimator``: model path and context length to
bytes). The default is the library's fit estimate (weights + KV cache for the context + overhead,
from the bounded GGUF header reader), or file size x 1.2 plus a KV allowance when the header
cannot be read. Threads are divided between concurrent workers:
``n_threads = max(1, cores // n_concurrent)``.

With a GPU (``memory``: the library's :class:`MemoryInfo` from the worker's backend report),
each column gets the library's load plan: the layers to offload and, for mixture-of-experts
models on a small GPU, the layers whose experts stay in RAM (``n_cpu_moe``); concurrent
columns share the GPU's free memory equally. A set ``n_cpu_moe`` (the app's setting) wins.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from gptoss_desktop.core.compare.metrics import format_bytes
from gptoss_desktop.core.errors import GptossError
from gptoss_desktop.core.library.fit import (
    DEFAULT_KV_BYTES_PER_TOKEN,
    MemoryInfo,
    ModelShape,
    detect_memory,
    estimate_fit,
    required_bytes,
)
from gptoss_desktop.core.library.gguf_info import read_gguf_info

MemoryEstimator = Callable[[Path, int], int]
ScheduleMode = Literal["concurrent", "sequential"]
ScheduleChoice = Literal["auto", "concurrent", "sequential"]

FILE_OVERHEAD = 1.2
HEADROOM = 0.85  # use at most this share of the free memory


@dataclass(frozen=True)
class SchedulePlan:
    mode: ScheduleMode
    reason: str
    n_threads: tuple[int, ...]  # per column
    estimates: tuple[int, ...]  # bytes per column
    available: int | None
    n_gpu_layers: tuple[int, ...] = ()  # per column (empty: 0, CPU only)
    n_cpu_moe: tuple[int, ...] = ()  # per column: layers whose MoE experts stay in RAM

    @property
    def concurrent(self) -> bool:
        return self.mode == "concurrent"

    def offload(self, position: int) -> tuple[int, int]:
        """(n_gpu_layers, n_cpu_moe) for the column's load options."""
        gpu = self.n_gpu_layers[position] if self.n_gpu_layers else 0
        return gpu, self.n_cpu_moe[position] if self.n_cpu_moe else 0


def default_memory_estimate(path: Path, n_ctx: int) -> int:
    """Weights + KV cache + overhead, as the library's fit check computes them
    (:func:`core.library.fit.required_bytes`); file size x 1.2 + a rough KV allowance when
    the header cannot be read."""
    try:
        shape = ModelShape.from_gguf(read_gguf_info(path))
    except (GptossError, OSError):
        try:
            size = path.stat().st_size
        except OSError:
            return 0  # a missing file: its column reports the error when it loads
        return int(size * FILE_OVERHEAD) + DEFAULT_KV_BYTES_PER_TOKEN * n_ctx
    return required_bytes(shape, n_ctx)


def plan_offload(
    path: Path, n_ctx: int, memory: MemoryInfo | None, n_cpu_moe: int | None = None
) -> tuple[int, int]:
    """(n_gpu_layers, n_cpu_moe) for one column: the library's fit plan on ``memory``'s GPU
    (CPU only without one); ``n_cpu_moe`` set: that many layers' experts in RAM (MoE only)."""
    try:
        shape = ModelShape.from_gguf(read_gguf_info(path))
    except (GptossError, OSError):
        return 0, 0  # its column reports the problem when it loads
    layers = moe = 0
    if memory is not None and (memory.gpu_total or memory.gpu_free):
        fit = estimate_fit(shape, memory, n_ctx)
        layers, moe = fit.suggested_gpu_layers, fit.suggested_cpu_moe
    if n_cpu_moe is not None:
        moe = min(max(0, n_cpu_moe), shape.n_layer or 0) if shape.expert_bytes else 0
    return layers, moe


def available_memory_bytes() -> int | None:
    """RAM free for new processes (the library's detection: OS counters, cgroup limits)."""
    try:
        return detect_memory().available_ram or None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def threads_for(n_concurrent: int, cores: int | None = None) -> int:
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, n_concurrent))


def plan_schedule(
    model_paths: Sequence[Path],
    n_ctx: int,
    *,
    choice: ScheduleChoice = "auto",
    estimator: MemoryEstimator = default_memory_estimate,
    available: int | None = None,
    cores: int | None = None,
    n_threads: int | None = None,
    already_loaded: Sequence[bool] | None = None,
    memory: MemoryInfo | None = None,
    n_cpu_moe: int | None = None,
) -> SchedulePlan:
    """Concurrent when every model fits at once (or ``choice`` says so), else sequential.

    ``already_loaded[i]`` marks a column whose model is in memory now: its estimate is
    already outside ``available``. ``n_threads`` fixes the thread count of every column.
    ``memory`` (with a GPU) and ``n_cpu_moe`` give each column its offload (:func:`plan_offload`).
    """
    n = len(model_paths)
    estimates = tuple(estimator(Path(p), n_ctx) for p in model_paths)
    free = available if available is not None else available_memory_bytes()
    loaded = list(already_loaded or [False] * n)
    needed = sum(e for e, done in zip(estimates, loaded, strict=True) if not done)
    total = sum(estimates)
    if choice == "concurrent":
        mode: ScheduleMode = "concurrent"
        reason = f"all {n} models at once, as chosen"
    elif choice == "sequential":
        mode, reason = "sequential", "one model after another, as chosen"
    elif n <= 1:
        mode, reason = "concurrent", "one model"
    elif free is None:
        mode = "sequential"
        reason = "one after another: free memory is unknown on this system"
    elif needed <= free * HEADROOM:
        mode = "concurrent"
        reason = (
            f"all {n} models at once: about {format_bytes(total)} needed, {format_bytes(free)} free"
        )
    else:
        mode = "sequential"
        reason = (
            f"one after another: the {n} models need about {format_bytes(total)} together but "
            f"only {format_bytes(free)} is free"
        )
    per_column = n_threads or threads_for(n if mode == "concurrent" else 1, cores)
    gpu = memory
    if gpu is not None and mode == "concurrent" and n > 1:  # the columns share one GPU
        gpu = replace(gpu, gpu_free=gpu.gpu_free // n, gpu_total=gpu.gpu_total // n)
    offload = [plan_offload(Path(p), n_ctx, gpu, n_cpu_moe) for p in model_paths]
    return SchedulePlan(
        mode, reason, (per_column,) * n, estimates, free,
        tuple(g for g, _ in offload), tuple(m for _, m in offload),
    )  # fmt: skip
