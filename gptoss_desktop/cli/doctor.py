"""``gptoss-desktop doctor``: what this machine and this install can do."""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from gptoss_desktop import __version__
from gptoss_desktop.cli.common import print_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="report versions, backend (CPU/Metal/CUDA), folders")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=run)


def collect() -> dict[str, Any]:
    from gptoss_desktop.core.engine.cpu import physical_cores
    from gptoss_desktop.core.engine.probe import probe_backend
    from gptoss_desktop.core.paths import AppPaths

    paths = AppPaths.from_env()
    backend = probe_backend()
    try:
        qt = metadata.version("PySide6-Essentials")
    except metadata.PackageNotFoundError:
        qt = None
    return {
        "version": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "pyside6": qt,
        "llama_cpp_version": backend.llama_cpp_version,
        "backend": backend.backend,
        "gpu_offload": backend.gpu_offload,
        "devices": backend.devices,
        "system_info": backend.system_info,
        "data_dir": str(paths.data_dir),
        "models_dir": str(paths.models_dir),
        "config_dir": str(paths.config_dir),
        "logs_dir": str(paths.logs_dir),
        "cache_dir": str(paths.cache_dir),
        "physical_cores": physical_cores(),
        "plans": _plans(paths, backend),
    }


def _plans(paths: Any, backend: Any) -> list[dict[str, Any]]:
    """The load plan of each installed model at its suggested context (memory, GPU, experts)."""
    from gptoss_desktop.core.errors import GptossError
    from gptoss_desktop.core.library import InstalledModels, ModelShape, detect_memory, estimate_fit
    from gptoss_desktop.core.library.fit import load_plan
    from gptoss_desktop.core.library.gguf_info import read_model_info

    plans = []
    memory = detect_memory(backend)
    try:
        models = InstalledModels(paths.models_dir).list()
    except (GptossError, OSError):
        return []
    for m in models:
        try:
            info = read_model_info([Path(f) for f in m.files])
        except (GptossError, OSError):
            continue
        fit = estimate_fit(ModelShape.from_gguf(info), memory)
        plans.append({"model": m.name, **load_plan(fit, backend.backend)})
    return plans


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print_json(info)
        return 0
    from gptoss_desktop.core.library.fit import plan_text

    width = max(len(k) for k in info)
    for key, value in info.items():
        if key == "plans":
            for plan in value:
                print(f"{'plan'.ljust(width)}  {plan['model']}: {plan_text(plan)}")
            continue
        if key == "devices":
            value = (
                ", ".join(
                    f"{d['name']} ({d['type']}, {d['memory_total'] / 2**30:.1f} GiB)" for d in value
                )
                or "none"
            )
        print(f"{key.ljust(width)}  {value}")
    return 0
