"""Will this model run here? RAM and GPU memory against weights + KV cache + overhead.

RAM comes from the OS (``/proc/meminfo``, ``sysctl`` on macOS, ``GlobalMemoryStatusEx`` on
Windows); GPU memory from the :class:`BackendInfo` the inference worker reports (llama.cpp's
device list), passed in, so this module never loads llama.cpp itself. The estimate is
weights (the file size) + KV cache (bytes per token from the GGUF shape times the context,
f16, every layer at full context as with ``swa_full``) + a fixed overhead for llama.cpp's
compute buffers. The verdict says fits / tight / will not fit, with the numbers.
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

    @classmethod
    def from_gguf(cls, info: GgufInfo) -> ModelShape:
        return cls(
            weights_bytes=info.tensor_bytes or info.file_size,
            n_layer=info.n_layer,
            kv_bytes_per_token=info.kv_bytes_per_token,
            context_length=info.context_length,
            layer_bytes=info.layer_bytes or None,
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

    def kv_bytes(self, n_ctx: int) -> int:
        return (self.kv_bytes_per_token or DEFAULT_KV_BYTES_PER_TOKEN) * n_ctx


def overhead_bytes(shape: ModelShape) -> int:
    """llama.cpp compute buffers, runtime and the worker process: an estimate."""
    return 512 * MiB + shape.weights_bytes // 50


def required_bytes(shape: ModelShape, n_ctx: int) -> int:
    return shape.weights_bytes + shape.kv_bytes(n_ctx) + overhead_bytes(shape)


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


def estimate_fit(shape: ModelShape, memory: MemoryInfo, n_ctx: int | None = None) -> FitEstimate:
    """Verdict at ``n_ctx`` (default: the suggested context), with a suggested context and GPU layers."""
    suggested_ctx = suggest_context(shape, memory)
    ctx = n_ctx or suggested_ctx
    return _estimate(shape, memory, ctx, suggested_ctx)


def suggest_context(shape: ModelShape, memory: MemoryInfo) -> int:
    """The largest usual context (up to the model's own) at which the model fits."""
    limit = shape.context_length or 8192
    choices = [c for c in CONTEXT_CHOICES if c <= limit] or [limit]
    for c in choices:
        if _estimate(shape, memory, c, c).verdict == "fits":
            return c
    return choices[-1]


def _gpu_plan(shape: ModelShape, memory: MemoryInfo, n_ctx: int, required: int) -> tuple[int, int]:
    """(layers to offload, -1 = all; bytes placed in GPU memory)."""
    budget = int(memory.gpu_free * GPU_HEADROOM) if memory.gpu_free else 0
    if memory.unified and not budget:
        budget = int(memory.gpu_total * GPU_HEADROOM)
    if budget <= 0:
        return 0, 0
    if required <= budget:
        return -1, required
    n_layer = shape.n_layer or 0
    if n_layer <= 0:
        return 0, 0
    layer_weights = shape.layer_bytes or int(shape.weights_bytes * 0.9)
    per_layer = layer_weights // n_layer + shape.kv_bytes(n_ctx) // n_layer
    usable = budget - 256 * MiB  # compute buffer stays on the GPU too
    layers = max(0, min(n_layer, usable // per_layer if per_layer else 0))
    return int(layers), int(layers * per_layer + (256 * MiB if layers else 0))


def _estimate(shape: ModelShape, memory: MemoryInfo, n_ctx: int, suggested_ctx: int) -> FitEstimate:
    kv = shape.kv_bytes(n_ctx)
    overhead = overhead_bytes(shape)
    required = shape.weights_bytes + kv + overhead
    layers, on_gpu = _gpu_plan(shape, memory, n_ctx, required)
    # Unified memory: what the GPU uses is system RAM too.
    ram_needed = required if memory.unified else required - on_gpu
    if ram_needed <= memory.available_ram * RAM_HEADROOM:
        verdict: Verdict = "fits"
    elif ram_needed <= memory.total_ram * RAM_HEADROOM:
        verdict = "tight"
    else:
        verdict = "will_not_fit"
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
        message=_message(verdict, shape, memory, n_ctx, kv, overhead, required, layers),
    )


def _gib(n: int) -> str:
    return f"{n / GiB:.1f} GiB"


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
