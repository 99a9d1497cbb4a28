"""Loaded models for the chat: one worker process each, loaded off the main thread.

``EngineManager.load(path, n_ctx)`` starts the worker and loads the model on a pool thread
and reports ``sig_state(path, state, detail)`` (``loading``, ``loaded``, ``failed``,
``unloaded``) and ``sig_progress(path, fraction)`` from llama.cpp's load progress (a 13 GB
model takes a while); ``cancel_load()`` aborts a load in progress. The options carry
``n_cpu_moe`` (experts of the first N layers kept in RAM). The chat uses :attr:`current`. Loading a model unloads the previous chat
model (a laptop rarely holds two 12 GB models). ``close`` stops every worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from gptoss_desktop.core.api.gate import EngineGate
from gptoss_desktop.core.api.host import EngineHost
from gptoss_desktop.resources import DEMO_MODEL_LABEL
from gptoss_desktop.ui.workers import BackgroundTasks

if TYPE_CHECKING:  # imported on the loading thread, keeping start-up light
    from gptoss_desktop.core.chat.harmony_turns import TurnTooling
    from gptoss_desktop.core.chat.turns import TurnRunner
    from gptoss_desktop.core.engine import EngineClient, ModelInfo


@dataclass
class LoadedModel:
    path: str
    label: str
    client: EngineClient
    runner: TurnRunner
    info: ModelInfo
    backend: str
    is_demo: bool = False
    shape: object | None = None  # core.library.fit.ModelShape of the file, for the memory plan
    has_gpu: bool = False


def model_label(path: str | os.PathLike[str], demo_path: Path | None = None) -> str:
    p = Path(path)
    if demo_path is not None and p.resolve() == demo_path.resolve():
        return DEMO_MODEL_LABEL
    return p.stem


class EngineManager(QObject):
    #: (path, state, detail): state is loading, loaded, failed or unloaded.
    sig_state = Signal(str, str, str)
    #: The error of a failed load (for the banner).
    sig_load_failed = Signal(str, object)
    #: (path, fraction 0..1) while a model loads.
    sig_progress = Signal(str, float)

    def __init__(
        self,
        tasks: BackgroundTasks,
        *,
        n_threads: int | None = None,
        n_gpu_layers: int = -1,
        n_cpu_moe: int = 0,
        kv_cache_type: str = "f16",
        demo_path: Path | None = None,
        worker_env: dict[str, str] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._tasks = tasks
        self.n_threads = n_threads
        self.n_gpu_layers = n_gpu_layers
        self.n_cpu_moe = n_cpu_moe
        self.kv_cache_type = kv_cache_type
        self._loading_client: EngineClient | None = None
        self._cancel_requested = False
        self.demo_path = demo_path
        self.worker_env = worker_env
        self.current: LoadedModel | None = None
        self.loading: str | None = None
        self.requested_ctx: dict[str, int] = {}
        #: The chats' tools, given to every Harmony runner this manager makes (the tool panel).
        self.tooling: TurnTooling | None = None
        #: One generation at a time on the loaded model: the chat's turns and the local API's
        #: requests queue here (FIFO; API requests bounded).
        self.gate = EngineGate()
        #: What the local API serves: the model loaded here, kept up to date.
        self.api_host = EngineHost(self.gate)
        self._closed = False

    def state_of(self, path: str) -> str:
        if self.loading == path:
            return "loading"
        if self.current is not None and self.current.path == path:
            return "loaded"
        return "unloaded"

    def load(self, path: str, n_ctx: int = 8192) -> None:
        """Load ``path`` (replacing the current model) on a pool thread."""
        if self.loading is not None or self._closed:
            return
        path = str(path)
        self.loading = path
        self.requested_ctx[path] = n_ctx
        self.sig_state.emit(path, "loading", f"Loading {model_label(path, self.demo_path)}…")
        previous = self.current
        self.current = None
        back = (previous.path, previous.info.n_ctx) if previous is not None else None
        self.api_host.set_loaded(None, None, None)
        from gptoss_desktop.core.chat.runners import runner_for
        from gptoss_desktop.core.engine import EngineClient, LoadOptions

        options = LoadOptions(
            n_ctx=n_ctx,
            n_threads=self.n_threads,
            n_gpu_layers=self.n_gpu_layers,
            n_cpu_moe=self.n_cpu_moe,
            kv_cache_type=self.kv_cache_type,  # type: ignore[arg-type]
        )
        self._cancel_requested = False

        def started(client: EngineClient) -> None:
            self._loading_client = client
            if self._cancel_requested:
                client.cancel_load()

        def work() -> LoadedModel:
            if previous is not None:
                with self.gate.turn("window", bounded=False):  # after an API request ends
                    previous.client.close()
            try:
                client = EngineClient.start(
                    path,
                    options,
                    env=self.worker_env,
                    on_progress=lambda f: self.sig_progress.emit(path, f),
                    on_started=started,
                )
            finally:
                self._loading_client = None
            try:
                info = client.info
                assert info is not None
                if info.n_ctx_train and info.n_ctx > info.n_ctx_train:
                    client.close()
                    client = EngineClient.start(
                        path,
                        LoadOptions(**{**options.to_wire(), "n_ctx": info.n_ctx_train}),
                        env=self.worker_env,
                    )
                    info = client.info
                    assert info is not None
                runner = runner_for(client, tooling=self.tooling)
                backend_info = client.backend()
                backend = backend_info.backend
            except BaseException:
                client.close()
                raise
            demo = self.demo_path is not None and Path(path).resolve() == self.demo_path.resolve()
            shape = None
            try:
                from gptoss_desktop.core.errors import GptossError
                from gptoss_desktop.core.library.fit import ModelShape
                from gptoss_desktop.core.library.gguf_info import read_gguf_info

                shape = ModelShape.from_gguf(read_gguf_info(path))
            except (GptossError, OSError, ValueError):  # the plan is optional; the model loaded
                shape = None
            has_gpu = any(d.get("type") in ("GPU", "IGPU") for d in backend_info.devices)
            return LoadedModel(
                path,
                model_label(path, self.demo_path),
                client,
                runner,
                info,
                backend,
                demo,
                shape,
                has_gpu,
            )

        self._tasks.submit(work, self._on_loaded, lambda exc: self._on_failed(path, exc, back))

    def _on_loaded(self, model: LoadedModel) -> None:
        self.loading = None
        if self._closed:
            model.client.close()
            return
        self.current = model
        self.api_host.set_loaded(Path(model.path).stem, Path(model.path), model.client)
        detail = f"Loaded · {model.backend} · {model.info.n_ctx:,}-token context"
        asked = self.requested_ctx.get(model.path)
        if asked and model.info.n_ctx < asked:
            detail += f" (its training length; {asked:,} was asked)"
        self.sig_state.emit(model.path, "loaded", detail)

    def _on_failed(
        self, path: str, exc: BaseException, back: tuple[str, int] | None = None
    ) -> None:
        from gptoss_desktop.core.errors import LoadCancelled

        self.loading = None
        if isinstance(exc, LoadCancelled):
            self.sig_state.emit(path, "unloaded", "Load cancelled")
        else:
            self.sig_state.emit(path, "failed", str(exc))
            self.sig_load_failed.emit(path, exc)
        # The model that was working is loaded again (it was closed to make room).
        if back is not None and back[0] != path and not self._closed:
            self.load(*back)

    def cancel_load(self) -> None:
        """Abort the load in progress (the worker stops reading the file and exits)."""
        if self.loading is None:
            return
        self._cancel_requested = True
        client = self._loading_client
        if client is not None:
            client.cancel_load()

    def unload(self) -> None:
        model, self.current = self.current, None
        self.api_host.set_loaded(None, None, None)
        if model is not None:

            def close() -> None:
                with self.gate.turn("window", bounded=False):
                    model.client.close()

            self._tasks.submit(close)
            self.sig_state.emit(model.path, "unloaded", "")

    def close(self) -> None:
        """Stop every worker (app exit); waits for a load in progress to end."""
        self._closed = True
        self.api_host.set_loaded(None, None, None)
        self._tasks.wait(30_000)
        if self.current is not None:
            self.current.client.close()
            self.current = None
