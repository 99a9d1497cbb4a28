"""Settings of the app itself (not of one chat): theme, known models, first run, threads.

Kept as JSON in the config folder, with a schema version. A damaged file is moved aside
(``settings.json.broken``) and defaults are used, so a bad edit never stops the app from
starting; the move is reported through ``problem`` for the UI to show. No Qt here.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from gptoss_desktop.core.errors import GptossError

SCHEMA_VERSION = 1
FILE_NAME = "settings.json"
ThemeChoice = Literal["system", "light", "dark"]
THEMES: tuple[str, ...] = ("system", "light", "dark")
KV_CACHE_TYPES: tuple[str, ...] = ("f16", "q8_0")  # as core.engine.options


@dataclass(frozen=True)
class AppSettings:
    theme: ThemeChoice = "system"
    #: Model files the user imported or downloaded, newest first (absolute paths).
    model_paths: tuple[str, ...] = ()
    #: The model the last chat used; loaded by one click from the picker.
    last_model: str | None = None
    first_run_done: bool = False
    #: Threads for the worker; None lets llama.cpp decide.
    n_threads: int | None = None
    #: Layers offloaded to the GPU (-1 every layer, 0 none).
    n_gpu_layers: int = -1
    #: Layers whose MoE experts stay in RAM (llama.cpp --n-cpu-moe); the settings slider.
    n_cpu_moe: int = 0
    #: The KV cache type for the next load: "f16" (full precision) or "q8_0" (compact).
    kv_cache_type: str = "f16"
    #: Chat ids open when the app closed (first: the shown one).
    last_chat_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def with_model(self, path: str) -> AppSettings:
        paths = (path, *[p for p in self.model_paths if p != path])
        return replace(self, model_paths=paths[:50], last_model=path)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["model_paths"] = list(self.model_paths)
        d["schema_version"] = SCHEMA_VERSION
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AppSettings:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        if known.get("theme") not in THEMES:
            known.pop("theme", None)
        if "model_paths" in known:
            known["model_paths"] = tuple(str(p) for p in known["model_paths"] or ())
        if known.get("kv_cache_type") not in KV_CACHE_TYPES:
            known.pop("kv_cache_type", None)
        for key, kind in (("first_run_done", bool), ("n_gpu_layers", int), ("n_cpu_moe", int)):
            if key in known and not isinstance(known[key], kind):
                known.pop(key)
        return cls(**known)


class SettingsFile:
    """Loads and saves :class:`AppSettings` atomically (write to a temp file, rename)."""

    def __init__(self, config_dir: Path) -> None:
        self.path = Path(config_dir) / FILE_NAME
        self.problem: str | None = None
        self._lock = threading.Lock()

    def save_latest(self, current: Callable[[], AppSettings]) -> None:
        """Save the settings ``current()`` gives when the write happens (any thread).

        Saves queued on a thread pool may run in any order; each one writes the newest
        settings under one lock, so the file never ends older than the last change."""
        with self._lock:
            self.save(current())

    def load(self) -> AppSettings:
        if not self.path.exists():
            return AppSettings()
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if int(data.get("schema_version", 1)) > SCHEMA_VERSION:
                self.problem = (
                    f"{self.path} was written by a newer version of the app; "
                    "defaults are used until you update"
                )
                return AppSettings()
            return AppSettings.from_dict(data)
        except (OSError, ValueError, TypeError) as exc:
            broken = self.path.with_suffix(".json.broken")
            with contextlib.suppress(OSError):
                os.replace(self.path, broken)
            self.problem = f"The settings file was damaged ({exc}); it was moved to {broken}"
            return AppSettings()

    def save(self, settings: AppSettings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(settings.to_dict(), indent=2, ensure_ascii=False)
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise GptossError(
                f"Could not save the app settings to {self.path} ({exc}): "
                "check that the folder is writable."
            ) from exc
