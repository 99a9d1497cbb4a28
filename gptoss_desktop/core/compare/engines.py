"""The workers behind compare columns: one ``EngineClient`` (one process) per column slot.

The pool keeps a column's worker loaded between comparisons when the models fit in memory
together, and reloads it when the model or its load options change (thread count included).
Workers of different columns never share anything, so one crashing leaves the others alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gptoss_desktop.core.engine import EngineClient, GenerateRequest, Generation, LoadOptions
from gptoss_desktop.core.engine.options import GenerationMetrics, TokenBatch

EngineFactory = Callable[[Path, LoadOptions], EngineClient]


def start_engine(path: Path, options: LoadOptions) -> EngineClient:
    return EngineClient.start(path, options)


class EnginePool:
    def __init__(self, factory: EngineFactory = start_engine) -> None:
        self._factory = factory
        self._lock = threading.Lock()
        self._slots: dict[int, tuple[tuple[str, LoadOptions], EngineClient]] = {}

    def acquire(self, slot: int, path: Path, options: LoadOptions) -> EngineClient:
        """The worker for ``slot`` with ``path`` loaded with ``options``; starts one if needed."""
        key = (str(Path(path).resolve()), options)
        with self._lock:
            current = self._slots.get(slot)
            if current is not None and current[0] == key and current[1].alive:
                return current[1]
            self._slots.pop(slot, None)
        if current is not None:
            current[1].close()
        client = self._factory(Path(path), options)  # slow: outside the lock
        with self._lock:
            old = self._slots.get(slot)
            self._slots[slot] = (key, client)
        if old is not None:
            old[1].close()
        return client

    def get(self, slot: int) -> EngineClient | None:
        with self._lock:
            entry = self._slots.get(slot)
        return entry[1] if entry else None

    def is_loaded(self, slot: int, path: Path) -> bool:
        with self._lock:
            entry = self._slots.get(slot)
        return bool(entry and entry[0][0] == str(Path(path).resolve()) and entry[1].alive)

    def release(self, slot: int) -> None:
        """Close the worker of ``slot`` (it is started again when next needed)."""
        with self._lock:
            entry = self._slots.pop(slot, None)
        if entry is not None:
            entry[1].close()

    def release_others(self, keep: set[int]) -> None:
        with self._lock:
            slots = [s for s in self._slots if s not in keep]
        for slot in slots:
            self.release(slot)

    def close(self) -> None:
        with self._lock:
            entries = list(self._slots.values())
            self._slots.clear()
        for _, client in entries:
            client.close()

    def __enter__(self) -> EnginePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


BatchListener = Callable[[int, float], None]


class MeteredEngine:
    """An ``EngineClient`` whose generations tell ``on_batch(tokens_so_far, t)`` each batch.

    Everything else is the client's own (attribute access is forwarded), so chat sessions
    take it in place of the client; the compare runner gets live speed figures from it.
    """

    def __init__(self, client: EngineClient, on_batch: BatchListener) -> None:
        self.client = client
        self._on_batch = on_batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)

    def generate(self, request: GenerateRequest) -> MeteredGeneration:
        return MeteredGeneration(self.client.generate(request), self._on_batch)


class MeteredGeneration:
    def __init__(self, generation: Generation, on_batch: BatchListener) -> None:
        self.generation = generation
        self._on_batch = on_batch
        self.result: GenerationMetrics | None = None

    def cancel(self) -> None:
        self.generation.cancel()

    def __iter__(self) -> Iterator[TokenBatch]:
        for batch in self.generation:
            self._on_batch(len(self.generation.tokens), batch.t)
            yield batch
        self.result = self.generation.result
