"""Concurrent or sequential, and how many threads: the plan's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pytest

from gptoss_desktop.core.compare import scheduling
from gptoss_desktop.core.compare.scheduling import (
    default_memory_estimate,
    plan_schedule,
    threads_for,
)
from gptoss_desktop.core.library.fit import MiB
from tests.helpers import shared_model

GB = 10**9


def fixed(size: int):
    return lambda path, n_ctx: size


PATHS = [Path("a.gguf"), Path("b.gguf")]


def test_fits_runs_concurrently_with_threads_divided() -> None:
    plan = plan_schedule(PATHS, 4096, estimator=fixed(3 * GB), available=16 * GB, cores=8)
    assert plan.mode == "concurrent" and plan.n_threads == (4, 4)
    assert plan.reason == "all 2 models at once: about 6.0 GB needed, 16.0 GB free"


def test_too_big_runs_sequentially_and_says_why() -> None:
    plan = plan_schedule(PATHS, 4096, estimator=fixed(12 * GB), available=16 * GB, cores=8)
    assert plan.mode == "sequential" and plan.n_threads == (8, 8)
    assert plan.reason == (
        "one after another: the 2 models need about 24.0 GB together but only 16.0 GB is free"
    )


def test_headroom_is_kept() -> None:
    # 2 x 7 GB = 14 GB of 16 GB free is within 85%: 13.6 GB is the line.
    assert plan_schedule(PATHS, 1, estimator=fixed(7 * GB), available=16 * GB).mode == "sequential"
    assert plan_schedule(PATHS, 1, estimator=fixed(6 * GB), available=16 * GB).mode == "concurrent"


def test_models_already_loaded_do_not_count_against_free_memory() -> None:
    plan = plan_schedule(
        PATHS, 1, estimator=fixed(10 * GB), available=12 * GB, already_loaded=[True, False]
    )
    assert plan.mode == "concurrent"


def test_choices_and_unknown_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    forced = plan_schedule(PATHS, 1, choice="concurrent", estimator=fixed(99 * GB), available=GB)
    assert forced.mode == "concurrent" and forced.reason == "all 2 models at once, as chosen"
    seq = plan_schedule(PATHS, 1, choice="sequential", estimator=fixed(1), available=99 * GB)
    assert seq.mode == "sequential"
    monkeypatch.setattr(scheduling, "available_memory_bytes", lambda: None)
    unknown = plan_schedule(PATHS, 1, estimator=fixed(1), available=None, cores=2)
    assert unknown.mode == "sequential" and "free memory is unknown" in unknown.reason
    assert plan_schedule(PATHS, 1, estimator=fixed(1), available=GB, n_threads=3).n_threads == (
        3,
        3,
    )


def test_threads_for() -> None:
    assert [threads_for(n, cores=2) for n in (1, 2, 3, 4)] == [2, 1, 1, 1]
    assert [threads_for(n, cores=16) for n in (1, 2, 3, 4)] == [16, 8, 5, 4]


def test_default_estimate_uses_the_gguf_shape() -> None:
    path = shared_model("stories260K.gguf")
    size = path.stat().st_size
    small, big = default_memory_estimate(path, 512), default_memory_estimate(path, 2048)
    assert small > size and big > small  # the KV cache grows with the context
    assert small >= size + 32 * MiB  # weights + KV + the runtime floor of the library's estimate


def test_default_estimate_of_an_unreadable_header_falls_back_to_file_size(tmp_path: Path) -> None:
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + b"\xff" * 1000)
    assert default_memory_estimate(junk, 1) >= int(1004 * 1.2)


def test_full_size_gptoss_and_a_small_model_on_24_gb_run_together_only_when_they_fit() -> None:
    from gptoss_desktop.core.library.fit import GiB, ModelShape, required_bytes

    # gpt-oss-20B's GGUF as the library reads it (bench/standin.py writes the same shape)
    full = ModelShape(
        weights_bytes=12_096_000_000, n_layer=24, context_length=131072, n_embd=2880,
        n_vocab=201088, n_head_kv=8, head_k=64, head_v=64, sliding_window=128, swa_layers=12,
        expert_bytes=24 * 3 * 141_004_800,
    )  # fmt: skip
    need = required_bytes(full, 4096)
    # what the worker holds without mmap (measured 12.4 GB), not the 22 GB that mmap showed
    assert 11.5 * GiB < need < 12.5 * GiB
    sizes = {Path("gpt-oss-20b.gguf"): need, Path("small.gguf"): 1 * GiB}
    paths = list(sizes)
    together = plan_schedule(
        paths, 4096, estimator=lambda p, _n: sizes[p], available=21 * GiB, cores=2
    )
    assert together.mode == "concurrent" and together.n_threads == (1, 1)
    apart = plan_schedule(paths, 4096, estimator=lambda p, _n: sizes[p], available=14 * GiB)
    assert apart.mode == "sequential" and "only" in apart.reason


def test_offload_plan_per_column_shares_the_gpu_and_leaves_dense_models_alone() -> None:
    from dataclasses import replace

    from gptoss_desktop.core.library.fit import GPU_HEADROOM, MemoryInfo, ModelShape, estimate_fit
    from gptoss_desktop.core.library.gguf_info import read_gguf_info
    from tests.helpers import project_model

    moe, dense = project_model("tiny-gptoss-random.gguf"), project_model("tiny-harmony.gguf")
    shape = ModelShape.from_gguf(read_gguf_info(moe))
    big = MemoryInfo(total_ram=1 << 40, available_ram=1 << 40, gpu_total=1 << 40, gpu_free=1 << 40)
    need = estimate_fit(shape, big, 2048).gpu_needed_bytes
    share = int((need - 1.5 * shape.expert_layer_bytes()) / GPU_HEADROOM)  # 1.5 layers short
    gpu = replace(big, gpu_total=share * 2, gpu_free=share * 2)  # holds one copy whole, not two

    alone = plan_schedule(
        [moe, dense], 2048, estimator=fixed(1), available=GB, choice="sequential", memory=gpu
    )
    assert alone.offload(0) == (-1, 0) and alone.offload(1)[1] == 0
    shared = plan_schedule([moe, moe], 2048, estimator=fixed(1), available=GB, memory=gpu)
    assert shared.concurrent
    half = replace(gpu, gpu_total=share, gpu_free=share)  # each column's share of the GPU
    assert estimate_fit(shape, half, 2048).suggested_cpu_moe == 2
    assert shared.offload(0) == shared.offload(1) == (-1, 2)
    # CPU only (no GPU reported): nothing offloaded, nothing planned
    cpu = plan_schedule([moe, dense], 2048, estimator=fixed(1), available=GB)
    assert cpu.offload(0) == cpu.offload(1) == (0, 0)
    # the app's setting: for the MoE model only, at most its layer count
    fixed_moe = plan_schedule([moe, dense], 2048, estimator=fixed(1), available=GB, n_cpu_moe=9)
    assert fixed_moe.offload(0) == (0, 4) and fixed_moe.offload(1) == (0, 0)
