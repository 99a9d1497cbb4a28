"""What llama.cpp was built with and which devices it sees (worker side only)."""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path
from typing import Any

# enum ggml_backend_dev_type
_DEV_TYPES = {0: "CPU", 1: "GPU", 2: "IGPU", 3: "ACCEL"}
_KNOWN_GPU_BACKENDS = ("CUDA", "Metal", "Vulkan", "HIP", "ROCm", "SYCL", "OpenCL", "MUSA", "CANN")


def _lib_dir() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).resolve().parent / "lib"


def _ggml() -> ctypes.CDLL | None:
    """The already-loaded ggml library (dlopen of a loaded library returns the same handle)."""
    # The soname libllama links against comes first: opening another file name of the same
    # library would load a second, separate copy of ggml (with no backends registered).
    names = {
        "linux": ["libggml.so.0", "libggml.so", "libggml-base.so"],
        "darwin": ["libggml.0.dylib", "libggml.dylib", "libggml-base.dylib"],
        "win32": ["ggml.dll", "ggml-base.dll"],
    }.get(sys.platform, ["libggml.so"])
    for name in names:
        path = _lib_dir() / name
        if not path.exists():
            continue
        try:
            lib = ctypes.CDLL(str(path))
            lib.ggml_backend_dev_count  # noqa: B018 - probe the symbol
        except (OSError, AttributeError):
            continue
        return lib
    return None


def load_backend_modules() -> None:
    """Builds with GGML_BACKEND_DL keep CPU/GPU backends as modules: load them once."""
    lib = _ggml()
    if lib is None or not hasattr(lib, "ggml_backend_load_all_from_path"):
        return
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    if lib.ggml_backend_reg_count() > 0:
        return
    lib.ggml_backend_load_all_from_path.argtypes = [ctypes.c_char_p]
    for folder in (_lib_dir(), _lib_dir().parent.parent / "bin"):
        if folder.is_dir():
            lib.ggml_backend_load_all_from_path(str(folder).encode())


def cpu_backend_problem() -> str | None:
    """Why llama.cpp has no device to run on (its CPU backend module did not load), or None."""
    lib = _ggml()
    if lib is None or not hasattr(lib, "ggml_backend_dev_count"):
        return None
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    if lib.ggml_backend_dev_count() == 0:
        return (
            "no CPU backend of llama.cpp could be loaded (its ggml-cpu library is missing "
            "from the install, or was built for a newer processor than this one)"
        )
    return None


def _devices(lib: ctypes.CDLL) -> list[dict[str, Any]]:
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    for fn in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(lib, fn).restype = ctypes.c_char_p
        getattr(lib, fn).argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_memory.argtypes = [
        ctypes.c_void_p,
        ctypes.POINTER(ctypes.c_size_t),
        ctypes.POINTER(ctypes.c_size_t),
    ]
    devices = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        devices.append(
            {
                "name": (lib.ggml_backend_dev_name(dev) or b"").decode("utf-8", "replace"),
                "description": (lib.ggml_backend_dev_description(dev) or b"").decode(
                    "utf-8", "replace"
                ),
                "type": _DEV_TYPES.get(lib.ggml_backend_dev_type(dev), "UNKNOWN"),
                "memory_free": int(free.value),
                "memory_total": int(total.value),
            }
        )
    return devices


def _registered_backends(lib: ctypes.CDLL) -> list[str]:
    lib.ggml_backend_reg_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_get.restype = ctypes.c_void_p
    lib.ggml_backend_reg_get.argtypes = [ctypes.c_size_t]
    lib.ggml_backend_reg_name.restype = ctypes.c_char_p
    lib.ggml_backend_reg_name.argtypes = [ctypes.c_void_p]
    return [
        (lib.ggml_backend_reg_name(lib.ggml_backend_reg_get(i)) or b"").decode()
        for i in range(lib.ggml_backend_reg_count())
    ]


def backend_info() -> dict[str, Any]:
    import llama_cpp

    load_backend_modules()  # builds with dynamic backends register them only when loaded
    lib = _ggml()
    devices: list[dict[str, Any]] = []
    registered: list[str] = []
    if lib is not None:
        try:
            registered = _registered_backends(lib)
            devices = _devices(lib)
        except (OSError, AttributeError):
            pass
    gpu = [name for name in registered if name != "CPU" and name not in ("BLAS", "RPC")]
    backend = next((b for b in _KNOWN_GPU_BACKENDS if b in gpu), gpu[0] if gpu else "CPU")
    return {
        "llama_cpp_version": getattr(llama_cpp, "__version__", "unknown"),
        "backend": backend,
        "gpu_offload": bool(llama_cpp.llama_supports_gpu_offload()),
        "devices": devices,
        "registered_backends": registered,
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
    }
