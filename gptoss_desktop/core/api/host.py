"""EngineHost: the models the local API may name, and the engine of the loaded one.

The window's model manager keeps it up to date with :meth:`EngineHost.set_loaded` as models
load and unload; ``serve`` gives it a catalog of installed models and a loader, and it then
loads the model a request names in place of the current one (one model at a time). Light to
import (the window builds one at start-up).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from gptoss_desktop.core.api.errors import ApiError
from gptoss_desktop.core.api.gate import EngineGate
from gptoss_desktop.core.api.memo import GenerationMemo

if TYPE_CHECKING:
    from gptoss_desktop.core.templating.session import TemplateEngine

    class ClosableEngine(TemplateEngine, Protocol):
        def close(self, timeout: float = 5.0) -> None: ...


@dataclass(frozen=True)
class ModelEntry:
    id: str
    path: str
    loaded: bool
    created: int


def model_id_for(path: str | Path) -> str:
    return Path(path).stem


class EngineHost:
    """The models the API serves; ``engine()`` is called holding the gate's turn."""

    def __init__(
        self,
        gate: EngineGate | None = None,
        *,
        catalog: Callable[[], Mapping[str, Path]] | None = None,
        loader: Callable[[Path], ClosableEngine] | None = None,
    ) -> None:
        self.gate = gate or EngineGate()
        self._catalog = catalog
        self._loader = loader
        self._lock = threading.Lock()
        self._loaded: tuple[str, Path, TemplateEngine] | None = None
        self._owned = False
        self._memos: dict[int, GenerationMemo] = {}

    def set_loaded(
        self,
        model_id: str | None,
        path: Path | None,
        engine: TemplateEngine | None,
        *,
        owned: bool = False,
    ) -> None:
        """The model now loaded (None: none); the window's manager calls this. ``owned``:
        this host closes it (when it loads another, and in :meth:`close`)."""
        with self._lock:
            if model_id is None or path is None or engine is None:
                self._loaded = None
            else:
                self._loaded = (model_id, Path(path), engine)
            self._owned = owned and self._loaded is not None
            live = {id(self._loaded[2])} if self._loaded else set()
            self._memos = {k: v for k, v in self._memos.items() if k in live}

    @property
    def loaded_engine(self) -> TemplateEngine | None:
        with self._lock:
            return self._loaded[2] if self._loaded else None

    def catalog(self) -> dict[str, Path]:
        return dict(self._catalog()) if self._catalog is not None else {}

    def models(self) -> list[ModelEntry]:
        with self._lock:
            loaded = self._loaded
        entries: list[ModelEntry] = []
        if loaded is not None:
            entries.append(ModelEntry(loaded[0], str(loaded[1]), True, _mtime(loaded[1])))
        for name, path in self.catalog().items():
            if loaded is not None and (name == loaded[0] or _same(path, loaded[1])):
                continue
            entries.append(ModelEntry(name, str(path), False, _mtime(path)))
        return entries

    def check(self, model_id: str) -> str:
        """The served id for ``model_id``, or ApiError 404."""
        for entry in self.models():
            if entry.id == model_id or entry.id.lower() == model_id.lower():
                if not entry.loaded and self._loader is None:
                    raise ApiError(
                        404,
                        f"The model {model_id!r} is installed but not loaded; load it in the "
                        "app's window (the API serves the model loaded there)",
                        code="model_not_found",
                        param="model",
                    )
                return entry.id
        known = ", ".join(e.id for e in self.models()) or "none (load a model first)"
        raise ApiError(
            404,
            f"The model {model_id!r} does not exist; available: {known}",
            code="model_not_found",
            param="model",
        )

    def memo_for(self, model_id: str) -> GenerationMemo | None:
        with self._lock:
            if self._loaded is None or self._loaded[0] != model_id:
                return None
            return self._memos.setdefault(id(self._loaded[2]), GenerationMemo())

    def engine(self, model_id: str) -> tuple[TemplateEngine, GenerationMemo]:
        """The engine for ``model_id`` (loading it in ``serve``, replacing the current one)."""
        served = self.check(model_id)
        with self._lock:
            loaded = self._loaded
        if loaded is None or loaded[0] != served:
            if self._loader is None:
                raise ApiError(404, f"The model {model_id!r} is not loaded", code="model_not_found")
            path = self.catalog()[served]
            if loaded is not None and self._owned:
                close = getattr(loaded[2], "close", None)
                if close is not None:
                    close()
            self.set_loaded(None, None, None)
            engine = self._loader(path)
            self.set_loaded(served, path, engine, owned=True)
        memo = self.memo_for(served)
        assert memo is not None
        with self._lock:
            assert self._loaded is not None
            return self._loaded[2], memo

    def close(self) -> None:
        """Close the engine if this host loaded it."""
        with self._lock:
            loaded, owned = self._loaded, self._owned
            self._loaded = None
        if loaded is not None and owned:
            close = getattr(loaded[2], "close", None)
            if close is not None:
                close()


def _mtime(path: Path) -> int:
    try:
        return int(path.stat().st_mtime)
    except OSError:
        return 0


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
