"""The worker's message loop.

A reader thread takes requests from stdin: ``cancel`` takes effect at once (it sets a flag
the generation loop checks between tokens), everything else is queued for the main thread,
which owns the model (a ``Llama`` is not thread-safe). Replies go to the protocol channel,
a duplicate of the original stdout; fd 1 itself is pointed at stderr so that nothing
llama.cpp prints can corrupt the protocol.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
import traceback
from typing import Any, BinaryIO

from gptoss_desktop.core.engine.protocol import bytes_to_wire, read_frame, write_frame

FLUSH_SECONDS = 0.025  # a batch of tokens leaves at least this often
FLUSH_TOKENS = 64  # ... or when it holds this many tokens
TEST_HOOKS_ENV = "GPTOSS_WORKER_TEST_HOOKS"


class WorkerServer:
    def __init__(self, inp: BinaryIO, out: BinaryIO) -> None:
        self.inp = inp
        self.out = out
        self.requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.cancelled = threading.Event()
        self.current_gen: int | None = None
        self.model: Any = None
        self._write_lock = threading.Lock()
        self._end_lock = threading.Lock()
        self._answered: int | None = None  # a generation whose end the reader already sent

    # --- io -----------------------------------------------------------------------------
    def send(self, message: dict[str, Any]) -> None:
        with self._write_lock:
            write_frame(self.out, message)

    def _read_loop(self) -> None:
        try:
            while True:
                msg = read_frame(self.inp)
                if msg is None:
                    break
                if msg.get("op") == "cancel":
                    if msg.get("target") in (None, self.current_gen):
                        self.cancelled.set()
                        self._answer_cancel()
                    continue
                self.requests.put(msg)
        except Exception:  # broken pipe from a dead parent: exit quietly
            traceback.print_exc()
        # The app closed our stdin (or died): stop whatever we are doing and leave.
        self.cancelled.set()
        self.requests.put(None)

    def _answer_cancel(self) -> None:
        """A cancel during prompt evaluation is answered at once from this thread.

        llama.cpp's abort callback stops the running decode at the next graph node, but one
        node of a 512-token batch can take a few hundred ms on a small CPU (gpt-oss's expert
        matrices); the caller need not wait for it. The main thread finishes the node, drops
        what the batch added to the KV cache, and sends nothing more for this generation."""
        model, rid = self.model, self.current_gen
        if model is None or rid is None or getattr(model, "in_prompt", None) is None:
            return
        with self._end_lock:
            if self._answered == rid or self.current_gen != rid:
                return
            try:
                metrics = model.cancel_metrics()
            except RuntimeError:  # the prompt just finished; the main loop sees the flag
                return
            self._answered = rid
        self.send({"id": rid, "type": "done", "metrics": metrics})

    def _end(self, rid: int, message: dict[str, Any]) -> None:
        """Send the last frame of a generation unless the reader already answered it."""
        with self._end_lock:
            if self._answered == rid:
                return
            self._answered = rid
        self.send(message)

    # --- main loop ----------------------------------------------------------------------
    def serve(self) -> int:
        threading.Thread(target=self._read_loop, name="worker-reader", daemon=True).start()
        while True:
            msg = self.requests.get()
            if msg is None or msg.get("op") == "close":
                if msg is not None:
                    self.send({"id": msg.get("id"), "ok": True})
                break
            try:
                self.handle(msg)
            except Exception as exc:  # report, keep serving
                self.send(
                    {
                        "id": msg.get("id"),
                        "error": f"{type(exc).__name__}: {exc}",
                        "kind": "internal",
                        "details": traceback.format_exc(),
                    }
                )
        if self.model is not None:
            self.model.close()
        return 0

    def handle(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        rid: Any = msg.get("id")  # echoed back as sent
        if op == "load":
            self.cancelled.clear()
            self.current_gen = rid  # a cancel aimed at this load aborts it
            try:
                self.send({"id": rid, **self._load(msg)})
            finally:
                self.current_gen = None
            return
        if op == "backend":
            from gptoss_desktop.worker.backend import backend_info

            self.send({"id": rid, "ok": True, "backend": backend_info()})
            return
        if op == "debug" and os.environ.get(TEST_HOOKS_ENV) == "1":
            self._debug(msg)
            return
        if self.model is None:
            self.send({"id": rid, "error": "no model is loaded", "kind": "bad_request"})
            return
        m = self.model
        if op == "generate":
            self._generate(rid, msg)
        elif op == "tokenize":
            ids = m.tokenize(msg["text"], bool(msg.get("special")), bool(msg.get("add_bos")))
            self.send({"id": rid, "ok": True, "tokens": ids})
        elif op == "pieces":
            pieces = [bytes_to_wire(m.piece(int(t))) for t in msg["tokens"]]
            self.send({"id": rid, "ok": True, "pieces": pieces})
        elif op == "special_tokens":
            self.send({"id": rid, "ok": True, "special": m.special_tokens()})
        elif op == "metadata":
            self.send({"id": rid, "ok": True, "metadata": m.metadata()})
        elif op == "unload":
            m.close()
            self.model = None
            self.send({"id": rid, "ok": True})
        else:
            self.send({"id": rid, "error": f"unknown request {op!r}", "kind": "bad_request"})

    def _load(self, msg: dict[str, Any]) -> dict[str, Any]:
        from gptoss_desktop.worker.backend import (
            backend_info,
            cpu_backend_problem,
            load_backend_modules,
        )

        try:
            # A bundle whose llama.cpp/ggml libraries cannot load here (missing files, a CPU
            # without the instructions they need) fails in this import, not in the model file.
            from gptoss_desktop.worker.runtime import LoadCancelled, LoadedModel

            load_backend_modules()
        except (ImportError, OSError, RuntimeError) as exc:
            return {"error": str(exc), "kind": "engine_unavailable"}
        problem = cpu_backend_problem()
        if problem:
            return {"error": problem, "kind": "engine_unavailable"}
        if self.model is not None:
            self.model.close()
            self.model = None
        rid = msg.get("id")
        last = [-1.0, 0.0]  # fraction and time of the last progress frame

        def on_progress(fraction: float) -> None:
            now = time.perf_counter()
            if fraction >= 1.0 or fraction - last[0] >= 0.01 or now - last[1] >= 0.5:
                last[0], last[1] = fraction, now
                self.send({"id": rid, "type": "load_progress", "fraction": round(fraction, 4)})

        backend = str(backend_info().get("backend", "CPU"))  # also loads dynamic backends
        try:
            self.model = LoadedModel(
                msg["path"],
                msg.get("options") or {},
                cancel=self.cancelled,
                on_progress=on_progress,
                backend=backend,
            )
        except LoadCancelled:
            return {"error": "the load was cancelled", "kind": "cancelled"}
        except (ValueError, RuntimeError, OSError) as exc:
            return {"error": str(exc), "kind": "load_failed"}
        return {"ok": True, "info": {**self.model.info(), "backend": backend}}

    def _generate(self, rid: int, msg: dict[str, Any]) -> None:
        self.cancelled.clear()
        self.current_gen = rid
        t_start = time.perf_counter()
        ids: list[int] = []
        pieces: list[str] = []
        text: list[str] = []
        last_t = 0.0
        last_flush = t_start
        first = True

        def flush() -> None:
            nonlocal last_flush, first
            if ids or text:
                self.send(
                    {
                        "id": rid,
                        "type": "batch",
                        "ids": ids[:],
                        "pieces": pieces[:],
                        "text": "".join(text),
                        "t": last_t,
                    }
                )
                ids.clear()
                pieces.clear()
                text.clear()
            last_flush = time.perf_counter()
            first = False

        try:
            for ev in self.model.generate(msg["request"], self.cancelled, t_start):
                if ev.done is not None:
                    if self._answered != rid:
                        flush()
                    self._end(rid, {"id": rid, "type": "done", "metrics": ev.done})
                    return
                if ev.extra:
                    self._end(rid, {"id": rid, **ev.extra})
                    return
                if ev.progress is not None:
                    if self._answered == rid:
                        continue
                    self.send(
                        {
                            "id": rid,
                            "type": "progress",
                            "evaluated": ev.progress[0],
                            "total": ev.progress[1],
                        }
                    )
                    continue
                if ev.token is not None:
                    ids.append(ev.token)
                    pieces.append(bytes_to_wire(ev.piece))
                text.append(ev.text)
                last_t = ev.t
                now = time.perf_counter()
                if first or len(ids) >= FLUSH_TOKENS or now - last_flush >= FLUSH_SECONDS:
                    flush()
        finally:
            self.current_gen = None

    def _debug(self, msg: dict[str, Any]) -> None:
        """Failure injection for the crash-isolation tests (only with the test env var)."""
        how = msg.get("how")
        if how == "segfault":
            import ctypes

            ctypes.string_at(0)
        elif how == "abort":
            sys.stderr.write("GGML_ASSERT: simulated assertion failure\n")
            sys.stderr.flush()
            os.abort()
        elif how == "hang":
            time.sleep(3600)
        elif how == "exit":
            os._exit(3)
        elif how == "bare" and self.model is not None:
            from gptoss_desktop.worker.bare import run

            result = run(self.model.llm, msg["what"], msg["tokens"], int(msg.get("n", 0)))
            self.send({"id": msg.get("id"), "ok": True, **result})
            return
        self.send({"id": msg.get("id"), "ok": True})


def main(argv: list[str] | None = None) -> int:
    # Keep the protocol on a private duplicate of stdout; route fd 1 to stderr.
    proto_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    out = os.fdopen(proto_fd, "wb", buffering=0)
    inp = os.fdopen(os.dup(0), "rb", buffering=0)
    return WorkerServer(inp, out).serve()
