"""The model library as one object the app builds once and hands to its views.

:class:`ModelLibrary` holds the catalog, the installed models, the hub client, the download
queue and the token store for one set of app folders. Build it in the composition root and
keep it for the life of the app: downloads belong to its queue, so they go on while the
model manager window is closed, and :meth:`close` pauses them (partials are kept and offered
again by :meth:`DownloadQueue.restore` next time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gptoss_desktop.core.library.catalog import Catalog, CatalogEntry
from gptoss_desktop.core.library.download import DownloadSettings
from gptoss_desktop.core.library.download_queue import DownloadQueue
from gptoss_desktop.core.library.fit import (
    FitEstimate,
    MemoryInfo,
    ModelShape,
    detect_memory,
    estimate_fit,
)
from gptoss_desktop.core.library.hub import Hub
from gptoss_desktop.core.library.installed import InstalledModels
from gptoss_desktop.core.library.token_store import TokenStore

if TYPE_CHECKING:
    from gptoss_desktop.core.engine.options import BackendInfo
    from gptoss_desktop.core.paths import AppPaths


@dataclass
class ModelLibrary:
    catalog: Catalog
    installed: InstalledModels
    hub: Hub
    queue: DownloadQueue
    tokens: TokenStore
    backend: BackendInfo | dict[str, Any] | None = field(default=None)

    @classmethod
    def from_paths(
        cls,
        paths: AppPaths,
        *,
        hub: Hub | None = None,
        tokens: TokenStore | None = None,
        settings: DownloadSettings | None = None,
        restore: bool = True,
    ) -> ModelLibrary:
        """Everything for ``paths``; ``restore`` offers unfinished downloads as paused tasks."""
        installed = InstalledModels(paths.models_dir)
        hub = hub or Hub()
        tokens = tokens or TokenStore()
        queue = DownloadQueue(hub, installed, token=tokens.get, settings=settings)
        if restore:
            queue.restore()
        return cls(Catalog.load(paths.config_dir), installed, hub, queue, tokens)

    def memory(self) -> MemoryInfo:
        """RAM now, and GPU memory when the engine's backend report was given (``backend``)."""
        return detect_memory(self.backend)

    def fit(
        self, entry: CatalogEntry, n_ctx: int, memory: MemoryInfo | None = None
    ) -> FitEstimate | None:
        shape = ModelShape.from_catalog(entry)
        if shape is None:
            return None
        ctx = min(n_ctx, entry.context_length or n_ctx)
        return estimate_fit(shape, memory or self.memory(), ctx)

    def close(self) -> None:
        self.queue.shutdown()
