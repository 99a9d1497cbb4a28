"""Will this model run here? RAM and GPU memory against what llama.cpp really allocates.

RAM comes from the OS (``/proc/meminfo``, ``sysctl`` on macOS, ``GlobalMemoryStatusEx`` on
Windows); GPU memory from the :class:`BackendInfo` the inference worker reports (llama.cpp's
device list), passed in, so this module never loads llama.cpp itself.

With the shape read from the GGUF (an installed model) the estimate is what the worker must
hold resident, checked against measurements (tests/worker/test_scale.py on a same-width
2-layer gpt-oss, bench/scale.py on the full-size stand-in, within 10% at 4k/32k/128k):

- weights: the tensor bytes, once. On a CPU the experts are repacked (CPU_REPACK) into an
  anonymous copy of the same size; the worker loads without mmap there, so the file's pages
  are not held a second time (see worker/runtime.py ``choose_mmap``).
- KV cache: K and V per layer and cell, f16 or q8_0 (34 bytes per 32 values). gpt-oss slides
  a 128-token window on every other layer: with ``swa_full`` (the default, needed for KV
  prefix reuse across chat turns) those layers keep the whole context too; without it they
  keep ``pad256(window + n_ubatch)`` cells, about half the cache at long contexts.
- compute buffers: per ubatch token ~20 floats per embedding value plus the flash-attention
  mask (n_ctx x n_ubatch f16). llama.cpp also reserves logits for a whole ubatch (n_vocab x
  n_ubatch floats); the worker asks for one row, so in RAM only that row is touched, while
  on a GPU the reservation is real memory.
- runtime: the interpreter, libraries and llama.cpp's vocabulary tables.

Without those details (a catalog entry before download) the older rule stays: file size + KV
cache at f16 on every layer + 512 MiB + 2% of the weights. The verdict says fits / tight /
will not fit, with the numbers; for GPUs the plan says how many layers go to the GPU and, for
mixture-of-experts models, how many layers keep their experts in RAM (``n_cpu_moe``).
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from gptoss_desktop.core.engine.options import BackendInfo
    from gptoss_desktop.core.library.gguf_info import GgufInfo

Verdict = Literal["fits", "tight", "will_not_fit"]
GiB = 1024**3
MiB = 1024**2
DEFAULT_KV_BYTES_PER_TOKEN = 128 * 1024  # a typical 7-8B GQA model, when the shape is unknown
CONTEXT_CHOICES = (131072, 65536, 32768, 16384, 8192, 4096, 2048)
KV_TYPE_BYTES = {"f16": (2, 1), "q8_0": (34, 32)}  # bytes per values
N_UBATCH = 512  # the worker's batch (worker/runtime.py)
KV_PAD = 256  # llama.cpp pads the KV cache to this many cells
COMPUTE_FLOATS_PER_EMBD = 20  # activations per ubatch token, in n_embd floats (measured ~18)
RUNTIME_BYTES = 32 * MiB  # Python, numpy, llama.cpp libraries, the worker itself
VOCAB_BYTES_PER_TOKEN = 280  # llama.cpp's token tables (text, attributes, maps, merges)
RAM_HEADROOM = 0.9  # never plan to use more than 90% of what is there
GPU_HEADROOM = 0.9


class CatalogSizes(Protocol):
    """What a catalog entry says about a model's size (fit.py does not import the catalog:
    the catalog imports fit)."""

    @property
    def size_bytes(self) -> int | None: ...
    @property
    def n_layer(self) -> int | None: ...
    @property
    def kv_bytes_per_token(self) -> int | None: ...
    @property
    def context_length(self) -> int | None: ...


@dataclass(frozen=True)
class ModelShape:
    """The few numbers of a model the estimate needs."""

    weights_bytes: int
    n_layer: int | None = None
    kv_bytes_per_token: int | None = None
    context_length: int | None = None
    layer_bytes: int | None = None  # bytes in repeating layers; the rest is embeddings/output
    # Details from the GGUF (None: unknown, the simple rule applies)
    n_embd: int | None = None
    n_vocab: int | None = None
    n_head_kv: int | None = None
    head_k: int | None = None
    head_v: int | None = None
    sliding_window: int | None = None
    swa_layers: int = 0  # layers with a sliding window (gpt-oss: every other one)
    expert_bytes: int = 0  # bytes of the MoE expert tensors (ffn_*_exps), all layers

    @classmethod
    def from_gguf(cls, info: GgufInfo) -> ModelShape:
        head_k = info.key_length or (
            info.n_embd // info.n_head if info.n_embd and info.n_head else None
        )
        swa = 0
        if info.architecture == "gpt-oss" and info.sliding_window and info.n_layer:
            swa = (info.n_layer + 1) // 2  # layers 0, 2, 4, ... (llama.cpp's pattern 2)
        return cls(
            weights_bytes=info.tensor_bytes or info.file_size,
            n_layer=info.n_layer,
            kv_bytes_per_token=info.kv_bytes_per_token,
            context_length=info.context_length,
            layer_bytes=info.layer_bytes or None,
            n_embd=info.n_embd,
            n_vocab=info.n_vocab,
            n_head_kv=info.n_head_kv,
            head_k=head_k,
            head_v=info.value_length or head_k,
            sliding_window=info.sliding_window,
            swa_layers=swa,
            expert_bytes=getattr(info, "expert_bytes", 0) or 0,
        )

    @property
    def detailed(self) -> bool:
        return bool(
            self.n_layer and self.n_embd and self.n_vocab and self.n_head_kv and self.head_k
        )

    @classmethod
    def from_catalog(cls, entry: CatalogSizes) -> ModelShape | None:
        if not entry.size_bytes:
            return None
        return cls(
            weights_bytes=entry.size_bytes,
            n_layer=entry.n_layer,
            kv_bytes_per_token=entry.kv_bytes_per_token,
            context_length=entry.context_length,
        )

    def kv_bytes(
        self,
        n_ctx: int,
        *,
        kv_cache_type: str = "f16",
        swa_full: bool = True,
        n_ubatch: int = N_UBATCH,
    ) -> int:
        """KV cache bytes at ``n_ctx`` as llama.cpp allocates them."""
        num, den = KV_TYPE_BYTES.get(kv_cache_type, KV_TYPE_BYTES["f16"])
        if not self.detailed:
            return (
                (self.kv_bytes_per_token or DEFAULT_KV_BYTES_PER_TOKEN) * n_ctx * num // (2 * den)
            )
        assert self.n_layer and self.n_head_kv and self.head_k
        cells = _pad(n_ctx, KV_PAD)
        swa_cells = cells
        if not swa_full and self.swa_layers and self.sliding_window:
            swa_cells = min(cells, _pad(self.sliding_window + n_ubatch, KV_PAD))
        per_cell = self.n_head_kv * (self.head_k + (self.head_v or self.head_k)) * num // den
        full_layers = self.n_layer - self.swa_layers
        return per_cell * (full_layers * cells + self.swa_layers * swa_cells)

    def compute_bytes(self, n_ctx: int, *, n_ubatch: int = N_UBATCH, on_gpu: bool = False) -> int:
        """llama.cpp's compute buffer: what is touched in RAM, or all of it on a GPU."""
        if not self.detailed:
            return 256 * MiB
        assert self.n_embd and self.n_vocab
        activations = n_ubatch * self.n_embd * 4 * COMPUTE_FLOATS_PER_EMBD
        mask = _pad(n_ctx, KV_PAD) * n_ubatch * 2
        logits = self.n_vocab * 4 * (n_ubatch if on_gpu else 1)
        return activations + mask + logits

    def runtime_bytes(self) -> int:
        return RUNTIME_BYTES + (self.n_vocab or 0) * VOCAB_BYTES_PER_TOKEN

    def expert_layer_bytes(self) -> int:
        return self.expert_bytes // self.n_layer if self.n_layer else 0


def _pad(n: int, to: int) -> int:
    return -(-n // to) * to


def overhead_bytes(
    shape: ModelShape, n_ctx: int = 4096, *, n_ubatch: int = N_UBATCH, on_gpu: bool = False
) -> int:
    """Compute buffers, runtime and the worker process."""
    if not shape.detailed:
        return 512 * MiB + shape.weights_bytes // 50
    return shape.compute_bytes(n_ctx, n_ubatch=n_ubatch, on_gpu=on_gpu) + shape.runtime_bytes()


def required_bytes(
    shape: ModelShape, n_ctx: int, *, kv_cache_type: str = "f16", swa_full: bool = True
) -> int:
    """Everything the model needs resident at ``n_ctx`` (RAM, or RAM plus GPU memory)."""
    kv = shape.kv_bytes(n_ctx, kv_cache_type=kv_cache_type, swa_full=swa_full)
    return shape.weights_bytes + kv + overhead_bytes(shape, n_ctx)


@dataclass(frozen=True)
class MemoryInfo:
    total_ram: int
    available_ram: int
    gpu_total: int = 0
    gpu_free: int = 0
    gpu_name: str | None = None
    unified: bool = False  # Apple Silicon: the GPU works in system RAM

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FitEstimate:
    verdict: Verdict
    n_ctx: int
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int
    required_bytes: int
    ram_needed_bytes: int
    gpu_needed_bytes: int
    available_ram: int
    total_ram: int
    gpu_free: int
    suggested_ctx: int
    suggested_gpu_layers: int  # -1: every layer; 0: CPU only
    message: str
    suggested_cpu_moe: int = 0  # layers whose MoE experts stay in RAM (llama.cpp --n-cpu-moe)
    kv_cache_type: str = "f16"
    swa_full: bool = True
    kv_small_swa_bytes: int = 0  # the KV cache with only the sliding window kept (swa_full off)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- detection -----------------------------------------------------------------------------


def detect_memory(backend: BackendInfo | dict[str, Any] | None = None) -> MemoryInfo:
    """RAM from the OS; GPU memory from the worker's backend report when one is given."""
    total, available = _ram()
    gpu_total = gpu_free = 0
    gpu_name = None
    unified = False
    if backend is not None:
        info = backend if isinstance(backend, dict) else backend.to_dict()
        for dev in info.get("devices") or []:
            if dev.get("type") in ("GPU", "IGPU") and int(dev.get("memory_total") or 0) > gpu_total:
                gpu_total = int(dev.get("memory_total") or 0)
                gpu_free = int(dev.get("memory_free") or 0)
                gpu_name = str(dev.get("description") or dev.get("name") or "GPU")
        unified = info.get("backend") == "Metal" or any(
            d.get("type") == "IGPU" for d in info.get("devices") or []
        )
    return MemoryInfo(total, available, gpu_total, gpu_free, gpu_name, unified)


def _ram() -> tuple[int, int]:
    if sys.platform.startswith("linux"):
        try:
            return _linux_ram()
        except (OSError, ValueError, KeyError):
            pass
    if sys.platform == "darwin":
        return _mac_ram()
    if sys.platform == "win32":
        return _windows_ram()
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return int(pages), int(avail)


def _linux_ram() -> tuple[int, int]:
    values: dict[str, int] = {}
    with open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) * 1024
    total = values["MemTotal"]
    available = values.get("MemAvailable", values.get("MemFree", 0))
    return _cgroup_limit(total), min(available, _cgroup_limit(total))


def _cgroup_limit(total: int) -> int:
    """A container's memory limit, when lower than the machine's RAM."""
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as fh:
            raw = fh.read().strip()
        return min(total, int(raw)) if raw.isdigit() else total
    except OSError:
        return total


def _mac_ram() -> tuple[int, int]:
    total = int(
        subprocess.run(
            ["sysctl", "-n", "hw.memsize"], capture_output=True, text=True, timeout=5, check=True
        ).stdout
    )
    out = subprocess.run(["vm_stat"], capture_output=True, text=True, timeout=5).stdout
    page = 16384 if "16384" in out.splitlines()[0] else 4096
    free = 0
    for line in out.splitlines()[1:]:
        key, _, val = line.partition(":")
        if key.strip() in ("Pages free", "Pages inactive", "Pages speculative", "Pages purgeable"):
            free += int(val.strip().rstrip(".") or 0) * page
    return total, min(free, total)


def _windows_ram() -> tuple[int, int]:
    class MemoryStatusEx(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    stat = MemoryStatusEx()
    stat.dwLength = ctypes.sizeof(MemoryStatusEx)
    ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(stat))  # type: ignore[attr-defined]
    return int(stat.ullTotalPhys), int(stat.ullAvailPhys)


# --- the estimate ----------------------------------------------------------------------------


def estimate_fit(
    shape: ModelShape,
    memory: MemoryInfo,
    n_ctx: int | None = None,
    *,
    kv_cache_type: str = "f16",
    swa_full: bool = True,
) -> FitEstimate:
    """Verdict at ``n_ctx`` (default: the suggested context), with a suggested context, GPU
    layers and, for MoE models on a small GPU, the layers whose experts stay in RAM."""
    suggested_ctx = suggest_context(shape, memory, kv_cache_type=kv_cache_type, swa_full=swa_full)
    ctx = n_ctx or suggested_ctx
    return _estimate(shape, memory, ctx, suggested_ctx, kv_cache_type, swa_full)


def suggest_context(
    shape: ModelShape, memory: MemoryInfo, *, kv_cache_type: str = "f16", swa_full: bool = True
) -> int:
    """The largest usual context (up to the model's own) at which the model fits."""
    limit = shape.context_length or 8192
    choices = [c for c in CONTEXT_CHOICES if c <= limit] or [limit]
    for c in choices:
        if _estimate(shape, memory, c, c, kv_cache_type, swa_full).verdict == "fits":
            return c
    return choices[-1]


def plan_cpu_moe(shape: ModelShape, budget: int, gpu_need: int) -> int | None:
    """Fewest layers whose experts must stay in RAM for the rest to fit ``budget`` bytes of
    GPU memory: 0 when everything fits, None when even all experts in RAM do not suffice."""
    if gpu_need <= budget:
        return 0
    per_layer = shape.expert_layer_bytes()
    if not per_layer or not shape.n_layer:
        return None
    need = -(-(gpu_need - budget) // per_layer)
    return int(need) if need <= shape.n_layer else None


def _gpu_plan(
    shape: ModelShape, memory: MemoryInfo, n_ctx: int, required: int
) -> tuple[int, int, int]:
    """(layers to offload, -1 = all; bytes placed in GPU memory; layers with experts in RAM)."""
    budget = int(memory.gpu_free * GPU_HEADROOM) if memory.gpu_free else 0
    if memory.unified and not budget:
        budget = int(memory.gpu_total * GPU_HEADROOM)
    if budget <= 0:
        return 0, 0, 0
    # On a GPU the compute buffer's logits reservation is real memory; the runtime stays in RAM.
    gpu_need = required - shape.runtime_bytes() if shape.detailed else required
    if shape.detailed:
        gpu_need += shape.compute_bytes(n_ctx, on_gpu=True) - shape.compute_bytes(n_ctx)
    if gpu_need <= budget:
        return -1, gpu_need, 0
    if not memory.unified:
        moe = plan_cpu_moe(shape, budget, gpu_need)
        if moe:
            return -1, gpu_need - moe * shape.expert_layer_bytes(), moe
    n_layer = shape.n_layer or 0
    if n_layer <= 0:
        return 0, 0, 0
    layer_weights = shape.layer_bytes or int(shape.weights_bytes * 0.9)
    per_layer = layer_weights // n_layer + shape.kv_bytes(n_ctx) // n_layer
    usable = budget - 256 * MiB  # compute buffer stays on the GPU too
    layers = max(0, min(n_layer, usable // per_layer if per_layer else 0))
    return int(layers), int(layers * per_layer + (256 * MiB if layers else 0)), 0


def _estimate(
    shape: ModelShape,
    memory: MemoryInfo,
    n_ctx: int,
    suggested_ctx: int,
    kv_cache_type: str = "f16",
    swa_full: bool = True,
) -> FitEstimate:
    kv = shape.kv_bytes(n_ctx, kv_cache_type=kv_cache_type, swa_full=swa_full)
    overhead = overhead_bytes(shape, n_ctx)
    required = shape.weights_bytes + kv + overhead
    layers, on_gpu, cpu_moe = _gpu_plan(shape, memory, n_ctx, required)
    # Unified memory: what the GPU uses is system RAM too.
    ram_needed = required if memory.unified else max(0, required - on_gpu)
    if ram_needed <= memory.available_ram * RAM_HEADROOM:
        verdict: Verdict = "fits"
    elif ram_needed <= memory.total_ram * RAM_HEADROOM:
        verdict = "tight"
    else:
        verdict = "will_not_fit"
    small = shape.kv_bytes(n_ctx, kv_cache_type=kv_cache_type, swa_full=False)
    message = _message(verdict, shape, memory, n_ctx, kv, overhead, required, layers)
    if cpu_moe:
        message += f"; experts of the first {cpu_moe} layers stay in RAM (--cpu-moe {cpu_moe})"
    if swa_full and small < kv and kv - small >= 256 * MiB:
        message += (
            f"; a sliding-window-only KV cache would save {_gib(kv - small)}, but each chat "
            "turn would then re-read the whole conversation"
        )
    return FitEstimate(
        verdict=verdict,
        n_ctx=n_ctx,
        weights_bytes=shape.weights_bytes,
        kv_cache_bytes=kv,
        overhead_bytes=overhead,
        required_bytes=required,
        ram_needed_bytes=ram_needed,
        gpu_needed_bytes=on_gpu,
        available_ram=memory.available_ram,
        total_ram=memory.total_ram,
        gpu_free=memory.gpu_free,
        suggested_ctx=suggested_ctx,
        suggested_gpu_layers=layers,
        message=message,
        suggested_cpu_moe=cpu_moe,
        kv_cache_type=kv_cache_type,
        swa_full=swa_full,
        kv_small_swa_bytes=small,
    )


def _gib(n: int) -> str:
    return f"{n / 1e9:.1f} GB"  # the app's one unit system: decimal, as core.units


def _message(
    verdict: Verdict,
    shape: ModelShape,
    memory: MemoryInfo,
    n_ctx: int,
    kv: int,
    overhead: int,
    required: int,
    layers: int,
) -> str:
    words = {"fits": "Fits", "tight": "Tight", "will_not_fit": "Will not fit"}[verdict]
    text = (
        f"{words}: needs about {_gib(required)} ({_gib(shape.weights_bytes)} weights + "
        f"{_gib(kv)} KV cache at {n_ctx} tokens + {_gib(overhead)} overhead); "
        f"{_gib(memory.available_ram)} of {_gib(memory.total_ram)} RAM free"
    )
    if memory.gpu_total:
        placed = "all layers" if layers == -1 else f"{layers} of {shape.n_layer or '?'} layers"
        text += f"; {memory.gpu_name or 'GPU'}: {_gib(memory.gpu_free)} free, {placed} on the GPU"
    if verdict == "tight":
        text += "; close other apps or choose a shorter context"
    elif verdict == "will_not_fit":
        text += "; choose a smaller model or quantization"
    return text


def load_plan(fit: FitEstimate, backend: str = "CPU") -> dict[str, Any]:
    """How the worker will load the model, from an estimate: the settings the app passes and
    the figures behind them (``gptoss-desktop doctor`` and ``models info`` print this)."""
    on_gpu = backend != "CPU" and fit.suggested_gpu_layers != 0
    all_gpu = on_gpu and fit.suggested_gpu_layers == -1 and not fit.suggested_cpu_moe
    return {
        "n_ctx": fit.n_ctx,
        "n_gpu_layers": fit.suggested_gpu_layers if on_gpu else 0,
        "n_cpu_moe": fit.suggested_cpu_moe if on_gpu else 0,
        "use_mmap": backend == "Metal" or all_gpu,
        "flash_attn": "auto",
        "kv_cache_type": fit.kv_cache_type,
        "swa_full": fit.swa_full,
        "ram_gib": round(fit.ram_needed_bytes / GiB, 2),
        "gpu_gib": round(fit.gpu_needed_bytes / GiB, 2),
        "kv_gib": round(fit.kv_cache_bytes / GiB, 2),
        "kv_sliding_only_gib": round(fit.kv_small_swa_bytes / GiB, 2),
        "verdict": fit.verdict,
    }


def plan_text(plan: dict[str, Any]) -> str:
    layers = plan["n_gpu_layers"]
    where = (
        "CPU only"
        if layers == 0
        else ("all layers on the GPU" if layers == -1 else f"{layers} layers on the GPU")
    )
    if plan["n_cpu_moe"]:
        where += f", experts of the first {plan['n_cpu_moe']} layers in RAM (--cpu-moe {plan['n_cpu_moe']})"
    return (
        f"{where}; context {plan['n_ctx']}, KV cache {plan['kv_cache_type']} {plan['kv_gib']} GiB"
        f" ({plan['kv_sliding_only_gib']} GiB sliding-window only); mmap "
        f"{'on' if plan['use_mmap'] else 'off'}; flash attention {plan['flash_attn']}; "
        f"RAM {plan['ram_gib']} GiB, GPU {plan['gpu_gib']} GiB"
    )


def cpu_moe_split(
    shape: ModelShape, n_ctx: int, n_cpu_moe: int, *, kv_cache_type: str = "f16"
) -> tuple[int, int]:
    """(GPU bytes, RAM bytes) with every layer offloaded and the experts of the first
    ``n_cpu_moe`` layers kept in RAM: what the settings slider shows for each position."""
    kv = shape.kv_bytes(n_ctx, kv_cache_type=kv_cache_type)
    gpu = shape.weights_bytes + kv + shape.compute_bytes(n_ctx, on_gpu=True)
    moved = min(max(0, n_cpu_moe), shape.n_layer or 0) * shape.expert_layer_bytes()
    return gpu - moved, shape.runtime_bytes() + moved
