"""Backend facts without loading a model: a short-lived worker answers and exits.

The app process never imports llama_cpp, so even "which backend do we have" asks a worker.
"""

from __future__ import annotations

from gptoss_desktop.core.engine.client import EngineClient
from gptoss_desktop.core.engine.options import BackendInfo
from gptoss_desktop.core.engine.process import WorkerProcess


def probe_backend(timeout: float = 60.0) -> BackendInfo:
    client = EngineClient(WorkerProcess())
    try:
        reply = client._call("backend", {}, timeout)
        return BackendInfo.from_wire(reply["backend"])
    finally:
        client.close()
