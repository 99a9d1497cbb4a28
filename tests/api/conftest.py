"""A real local API server on loopback over a real worker with the project's tiny models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gptoss_desktop.api.server import ApiServer, ServerConfig
from gptoss_desktop.core.api.gate import EngineGate
from gptoss_desktop.core.api.service import ApiService, EngineHost
from gptoss_desktop.core.engine import EngineClient, LoadOptions
from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.responses import ResponseStore
from tests.helpers import project_model

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")
openai = pytest.importorskip("openai", reason="needs the openai client (dev dependency)")

#: tiny-harmony was trained with dates 2024-2026, day 1-28
DATE = "2025-06-28"
GET_WEATHER = {
    "name": "get_weather",
    "description": "Gets the current weather in the provided location.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city name, e.g. Tokyo"}},
        "required": ["location"],
    },
}


@dataclass
class Served:
    url: str
    server: ApiServer
    host: EngineHost
    engine: EngineClient
    responses: ResponseStore | None

    def client(self, api_key: str = "unused", **kw: object) -> openai.OpenAI:
        return openai.OpenAI(base_url=self.url + "/v1", api_key=api_key, max_retries=0, **kw)


def serve(
    model: Path,
    *,
    db_path: Path | None = None,
    config: ServerConfig | None = None,
    max_waiting: int = 8,
    n_ctx: int = 4096,
) -> Served:
    engine = EngineClient.start(model, LoadOptions(n_ctx=n_ctx, n_threads=1, seed=1))
    host = EngineHost(EngineGate(max_waiting))
    host.set_loaded(model.stem, model, engine, owned=True)
    responses = ResponseStore(Database(db_path)) if db_path is not None else None
    server = ApiServer(
        ApiService(host, responses, date=lambda: DATE), config or ServerConfig(port=0)
    )
    url = server.start()
    return Served(url, server, host, engine, responses)


def shutdown(served: Served) -> None:
    served.server.stop()
    served.host.close()
    if served.responses is not None:
        served.responses.db.close()


@pytest.fixture(scope="module")
def harmony(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    db = tmp_path_factory.mktemp("api") / "gptoss.sqlite3"
    served = serve(project_model("tiny-harmony.gguf"), db_path=db)
    yield served
    shutdown(served)
