"""The catalog data and the memory-fit estimate."""

from __future__ import annotations

from pathlib import Path

import pytest

from gptoss_desktop.core.errors import LibraryError
from gptoss_desktop.core.library import (
    Catalog,
    CatalogEntry,
    MemoryInfo,
    ModelShape,
    detect_memory,
    estimate_fit,
)
from gptoss_desktop.core.library.catalog import group_gguf_files, model_stem, shard_set
from gptoss_desktop.core.library.fit import GiB, MiB, load_plan, overhead_bytes, plan_text

GPTOSS = ModelShape(
    weights_bytes=12_110_000_000, n_layer=24, kv_bytes_per_token=49152, context_length=131072
)


def test_builtin_catalog_puts_gptoss_first_and_is_complete():
    cat = Catalog.load()
    entries = cat.entries
    assert entries[0].repo == "ggml-org/gpt-oss-20b-GGUF" and entries[0].files == [
        "gpt-oss-20b-mxfp4.gguf"
    ]
    assert len({e.id for e in entries}) == len(entries)
    gptoss_repos = {e.repo for e in entries if e.family == "gpt-oss"}
    assert gptoss_repos == {
        "ggml-org/gpt-oss-20b-GGUF",
        "unsloth/gpt-oss-20b-GGUF",
        "lmstudio-community/gpt-oss-20b-GGUF",
        "bartowski/openai_gpt-oss-20b-GGUF",
    }
    assert len({e.family for e in entries}) >= 6  # other families to compare against
    assert any(e.gated for e in entries) and any(len(e.files) > 1 for e in entries)
    for e in entries:
        assert e.licence != "unknown" and e.params_b and e.quantization != "unknown"
        assert e.size_bytes and e.n_layer and e.kv_bytes_per_token and e.context_length
        assert e.memory_estimate(4096) > e.size_bytes
        assert all(f.endswith(".gguf") for f in e.files)
        if len(e.files) > 1:
            assert shard_set(e.files[0]) == e.files


def test_user_added_entries_persist_and_curated_ones_stay(tmp_path):
    cat = Catalog.load(tmp_path)
    new = CatalogEntry(id="me/x/x.gguf", title="x", repo="me/x", files=["x.gguf"], user_added=True)
    assert cat.add([new, new]) == [new]
    again = Catalog.load(tmp_path)
    assert again.get("me/x/x.gguf").user_added
    with pytest.raises(LibraryError, match="curated catalog"):
        again.remove(again.entries[0].id)
    again.remove("me/x/x.gguf")
    assert all(e.id != "me/x/x.gguf" for e in Catalog.load(tmp_path).entries)


def test_shard_names():
    assert shard_set("m-00002-of-00003.gguf") == [
        "m-00001-of-00003.gguf",
        "m-00002-of-00003.gguf",
        "m-00003-of-00003.gguf",
    ]
    assert shard_set("Q4/m-00001-of-00002.gguf") == [
        "Q4/m-00001-of-00002.gguf",
        "Q4/m-00002-of-00002.gguf",
    ]
    assert shard_set("single.gguf") == ["single.gguf"]
    assert model_stem("big-00001-of-00002.gguf") == "big" and model_stem("a/b.gguf") == "b"
    groups = group_gguf_files(
        ["a.gguf", "mmproj-f16.gguf", "README.md", "s-00002-of-00002.gguf", "s-00001-of-00002.gguf"]
    )
    assert groups == [["a.gguf"], ["s-00001-of-00002.gguf", "s-00002-of-00002.gguf"]]


def test_gptoss_kv_cache_matches_the_facts():
    assert GPTOSS.kv_bytes(8192) == 384 * MiB
    assert GPTOSS.kv_bytes(131072) == 6 * GiB


def _ram(total_gib: float, free_gib: float, **gpu: object) -> MemoryInfo:
    return MemoryInfo(int(total_gib * GiB), int(free_gib * GiB), **gpu)  # type: ignore[arg-type]


def test_verdicts_with_numbers():
    fits = estimate_fit(GPTOSS, _ram(32, 24), 8192)
    assert fits.verdict == "fits"
    assert fits.required_bytes == GPTOSS.weights_bytes + 384 * MiB + overhead_bytes(GPTOSS)
    assert fits.message.startswith("Fits: needs about 13.")
    assert (
        "0.4 GB KV cache at 8192 tokens" in fits.message
        and "25.8 GB of 34.4 GB RAM free" in fits.message
    )
    tight = estimate_fit(GPTOSS, _ram(16, 8), 8192)
    assert tight.verdict == "tight" and "close other apps" in tight.message
    nope = estimate_fit(GPTOSS, _ram(8, 6), 8192)
    assert nope.verdict == "will_not_fit" and "smaller model" in nope.message


def test_suggested_context_is_the_largest_that_fits():
    est = estimate_fit(GPTOSS, _ram(20, 16))
    assert est.verdict == "fits"
    assert est.suggested_ctx == est.n_ctx == 32768  # 64k would need 3 GiB of KV cache more
    assert estimate_fit(GPTOSS, _ram(64, 60)).suggested_ctx == 131072
    assert estimate_fit(GPTOSS, _ram(4, 3)).suggested_ctx == 2048


def test_gpu_layers_are_suggested_from_free_gpu_memory():
    big_gpu = _ram(32, 24, gpu_total=24 * GiB, gpu_free=22 * GiB, gpu_name="RTX 4090")
    est = estimate_fit(GPTOSS, big_gpu, 8192)
    assert est.suggested_gpu_layers == -1 and est.ram_needed_bytes == 0
    assert "RTX 4090: 23.6 GB free, all layers on the GPU" in est.message
    small_gpu = _ram(32, 24, gpu_total=8 * GiB, gpu_free=7 * GiB, gpu_name="RTX 4060")
    part = estimate_fit(GPTOSS, small_gpu, 8192)
    assert 0 < part.suggested_gpu_layers < 24
    assert part.gpu_needed_bytes <= 7 * GiB * 0.9
    assert f"{part.suggested_gpu_layers} of 24 layers" in part.message
    # Apple silicon: the GPU uses system RAM, so RAM must hold everything
    mac = _ram(16, 12, gpu_total=11 * GiB, gpu_free=11 * GiB, gpu_name="Apple M2", unified=True)
    m = estimate_fit(GPTOSS, mac, 8192)
    assert m.ram_needed_bytes == m.required_bytes and m.verdict == "tight"


def test_detect_memory_reads_the_os_and_the_backend_report():
    mem = detect_memory()
    assert mem.total_ram > 256 * MiB and 0 < mem.available_ram <= mem.total_ram
    backend = {
        "backend": "CUDA",
        "devices": [
            {"name": "CPU", "type": "CPU", "memory_total": 1, "memory_free": 1},
            {
                "name": "CUDA0",
                "description": "NVIDIA H200",
                "type": "GPU",
                "memory_total": 140 * GiB,
                "memory_free": 139 * GiB,
            },
        ],
    }
    with_gpu = detect_memory(backend)
    assert (with_gpu.gpu_name, with_gpu.gpu_total, with_gpu.gpu_free) == (
        "NVIDIA H200",
        140 * GiB,
        139 * GiB,
    )
    assert not with_gpu.unified


def test_linux_ram_agrees_with_proc_meminfo():
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/meminfo")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    assert detect_memory().total_ram <= total_kib * 1024


FULL = ModelShape(  # gpt-oss-20B as read from its GGUF: every detail the estimate uses
    weights_bytes=12_096_000_000, n_layer=24, context_length=131072, n_embd=2880, n_vocab=201088,
    n_head_kv=8, head_k=64, head_v=64, sliding_window=128, swa_layers=12,
    expert_bytes=24 * 3 * 141_004_800,
)  # fmt: skip


def test_kv_cache_as_llama_cpp_allocates_it() -> None:
    # swa_full: every layer keeps the whole context (48 KiB per token, as in the facts)
    assert FULL.kv_bytes(131072) == 6 * GiB
    # sliding-window only: 12 layers keep pad256(128 + 512) = 768 cells; half the cache at 128k
    small = FULL.kv_bytes(131072, swa_full=False)
    assert small == 12 * 2048 * 131072 + 12 * 2048 * 768
    assert FULL.kv_bytes(4096, kv_cache_type="q8_0") == FULL.kv_bytes(4096) * 34 // 64
    est = estimate_fit(FULL, _ram(64, 60), 131072)
    assert (
        est.kv_small_swa_bytes == small and "sliding-window-only KV cache would save" in est.message
    )


def test_expert_offload_plan_from_free_vram() -> None:
    big = _ram(32, 28, gpu_total=24 * GiB, gpu_free=23 * GiB, gpu_name="RTX 4090")
    assert estimate_fit(FULL, big, 8192).suggested_cpu_moe == 0  # everything on the GPU
    small = _ram(32, 28, gpu_total=8 * GiB, gpu_free=7.5 * GiB, gpu_name="RTX 2080")
    est = estimate_fit(FULL, small, 8192)
    n = est.suggested_cpu_moe
    assert 0 < n < 24 and est.suggested_gpu_layers == -1
    assert est.gpu_needed_bytes <= 7.5 * GiB * 0.9
    # one layer fewer in RAM would not fit: the planner keeps as much as it can on the GPU
    per_layer = FULL.expert_layer_bytes()
    assert est.gpu_needed_bytes + per_layer > 7.5 * GiB * 0.9
    assert f"--cpu-moe {n}" in est.message
    plan = load_plan(est, "CUDA")
    assert plan["n_cpu_moe"] == n and plan["use_mmap"] is False and plan["n_gpu_layers"] == -1
    assert f"experts of the first {n} layers in RAM" in plan_text(plan)
    # CPU only: no offload plan, mmap off (the CPU backend repacks the experts)
    cpu = load_plan(estimate_fit(FULL, _ram(32, 28), 8192), "CPU")
    assert cpu["n_cpu_moe"] == 0 and cpu["use_mmap"] is False and cpu["n_gpu_layers"] == 0
