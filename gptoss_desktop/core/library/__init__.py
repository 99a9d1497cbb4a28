"""The model library: catalog, hub look-ups, verified resumable downloads, GGUF inspection,
memory fit, the Hugging Face token, and the installed-model registry. Qt-free.

Heavy imports (huggingface_hub, keyring) happen inside the functions that need them, so
importing this package costs little and touches no network.
"""

from gptoss_desktop.core.library.catalog import Catalog, CatalogEntry
from gptoss_desktop.core.library.download import DownloadJob, DownloadSettings, Progress, StopToken
from gptoss_desktop.core.library.download_queue import DownloadQueue, TaskSnapshot
from gptoss_desktop.core.library.fit import (
    FitEstimate,
    MemoryInfo,
    ModelShape,
    detect_memory,
    estimate_fit,
)
from gptoss_desktop.core.library.gguf_info import GgufInfo, Limits, read_gguf_info, read_model_info
from gptoss_desktop.core.library.hub import Hub, RemoteFile, RemoteModel
from gptoss_desktop.core.library.installed import InstalledModel, InstalledModels, VerifyReport
from gptoss_desktop.core.library.service import ModelLibrary
from gptoss_desktop.core.library.token_store import TokenStore

__all__ = [
    "Catalog",
    "CatalogEntry",
    "DownloadJob",
    "DownloadQueue",
    "DownloadSettings",
    "FitEstimate",
    "GgufInfo",
    "Hub",
    "InstalledModel",
    "InstalledModels",
    "Limits",
    "MemoryInfo",
    "ModelLibrary",
    "ModelShape",
    "Progress",
    "RemoteFile",
    "RemoteModel",
    "StopToken",
    "TaskSnapshot",
    "TokenStore",
    "VerifyReport",
    "detect_memory",
    "estimate_fit",
    "read_gguf_info",
    "read_model_info",
]
