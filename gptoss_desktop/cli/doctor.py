"""``gptoss-desktop doctor``: what this machine and this install can do."""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata
from typing import Any

from gptoss_desktop import __version__
from gptoss_desktop.cli.common import print_json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("doctor", help="report versions, backend (CPU/Metal/CUDA), folders")
    p.add_argument("--json", action="store_true", help="one JSON object on stdout")
    p.set_defaults(func=run)


def collect() -> dict[str, Any]:
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
    }


def run(args: argparse.Namespace) -> int:
    info = collect()
    if args.json:
        print_json(info)
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if key == "devices":
            value = (
                ", ".join(
                    f"{d['name']} ({d['type']}, {d['memory_total'] / 2**30:.1f} GiB)" for d in value
                )
                or "none"
            )
        print(f"{key.ljust(width)}  {value}")
    return 0
