"""The Starlette application: routes, request bodies, jobs on threads, SSE.

Each generating request becomes a :class:`Job`: a thread that waits its turn at the model's
gate and runs the turn, handing events to the event loop. The response waits for the first
event (so a refusal, 429 or 400, still gets its status code), then answers as one JSON object
or as server-sent events. A client that disconnects (noticed while waiting, generating or
streaming) cancels its job: it leaves the queue or its generation stops.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gptoss_desktop.api.security import AccessMiddleware, AccessPolicy
from gptoss_desktop.api.shapes import ChatChunks, ResponseBuilder, chat_completion
from gptoss_desktop.core.api.errors import ApiError
from gptoss_desktop.core.api.gate import GateCancelled
from gptoss_desktop.core.api.service import ApiService, PreparedTurn, new_id
from gptoss_desktop.core.api.turn import ApiEvent, TurnDone
from gptoss_desktop.core.harmony.cancel import CancelToken

MAX_BODY_BYTES = 8 * 1024 * 1024
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass
class ApiSettings:
    policy: AccessPolicy = field(default_factory=AccessPolicy)
    max_body_bytes: int = MAX_BODY_BYTES


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


# --- jobs -----------------------------------------------------------------------------------------
_END = object()


class Job:
    """One turn on a thread; events come out of :meth:`batches` on the event loop."""

    def __init__(self, service: ApiService, turn: PreparedTurn, jobs: set[Job]) -> None:
        self.service = service
        self.turn = turn
        self.cancel = CancelToken()
        self.done: TurnDone | None = None
        self.error: BaseException | None = None
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._lock = threading.Lock()
        self._pending: list[Any] = []
        self._scheduled = False
        self._jobs = jobs
        jobs.add(self)
        self._thread = threading.Thread(target=self._run, name="api-turn", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> None:
        """From the job's thread: wake the event loop once per burst of events, not per token."""
        with self._lock:
            self._pending.append(item)
            if self._scheduled:
                return
            self._scheduled = True
        self._loop.call_soon_threadsafe(self._hand_over)

    def _hand_over(self) -> None:
        with self._lock:
            items, self._pending = self._pending, []
            self._scheduled = False
        for item in items:
            self._queue.put_nowait(item)

    def _run(self) -> None:
        try:
            self.done = self.service.run(self.turn, self._put, self.cancel)
        except BaseException as exc:
            self.error = exc
            self._put(exc)
        finally:
            self._put(_END)
            self._loop.call_soon_threadsafe(self._jobs.discard, self)

    async def batches(self) -> AsyncIterator[list[ApiEvent]]:
        """Events as they come, in batches of whatever queued up meanwhile."""
        while True:
            items = [await self._queue.get()]
            while not self._queue.empty():
                items.append(self._queue.get_nowait())
            events: list[ApiEvent] = []
            for item in items:
                if item is _END:
                    if events:
                        yield events
                    return
                if isinstance(item, BaseException):
                    if events:
                        yield events
                    raise item
                events.append(item)
            yield events


async def watch_disconnect(request: Request, cancel: CancelToken) -> None:
    """Cancel when the client goes away."""
    try:
        while True:
            message = await request.receive()
            if message["type"] == "http.disconnect":
                cancel.cancel()
                return
    except (asyncio.CancelledError, RuntimeError, OSError):
        return


# --- bodies ---------------------------------------------------------------------------------------
async def read_json(request: Request, limit: int) -> Any:
    length = request.headers.get("content-length")
    too_big = ApiError(
        413,
        f"The request body is larger than the limit of {limit // (1024 * 1024)} MiB",
        code="request_too_large",
    )
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(
            400,
            f"We could not parse the JSON body of your request ({exc}). Send a JSON object "
            "with 'Content-Type: application/json'.",
            code="invalid_json",
        ) from None


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


# --- the app -------------------------------------------------------------------------------------
def create_app(service: ApiService, settings: ApiSettings | None = None) -> Starlette:
    settings = settings or ApiSettings()
    jobs: set[Job] = set()

    async def models(request: Request) -> Response:
        data = [
            {
                "id": m.id,
                "object": "model",
                "created": m.created,
                "owned_by": "gptoss-desktop",
                "loaded": m.loaded,
            }
            for m in service.host.models()
        ]
        model_id = request.path_params.get("model")
        if model_id is not None:
            for entry in data:
                if entry["id"] == model_id:
                    return JSONResponse(entry)
            raise ApiError(404, f"The model {model_id!r} does not exist", code="model_not_found")
        return JSONResponse({"object": "list", "data": data})

    async def start_job(
        request: Request, prepare: Callable[[Any], PreparedTurn]
    ) -> tuple[Job, Any]:
        body = await read_json(request, settings.max_body_bytes)
        turn = prepare(body)
        return Job(service, turn, jobs), body

    async def first_batch(
        request: Request, job: Job
    ) -> tuple[AsyncIterator[list[ApiEvent]], list[ApiEvent]]:
        """Wait for the first events (or the refusal) while watching for a disconnect."""
        watcher = asyncio.create_task(watch_disconnect(request, job.cancel))
        stream = job.batches()
        try:
            first = await stream.__anext__()
        except StopAsyncIteration:
            first = []
        except GateCancelled:
            raise ApiError(499, "the client closed the request", code="client_closed") from None
        finally:
            watcher.cancel()
        return stream, first

    async def chat(request: Request) -> Response:
        job, _body = await start_job(request, service.prepare_chat)
        req = job.turn.request
        cid = "chatcmpl-" + new_id("x")[2:]
        stream, first = await first_batch(request, job)
        if not req.stream:
            watcher = asyncio.create_task(watch_disconnect(request, job.cancel))
            try:
                async for _ in stream:
                    pass
            finally:
                watcher.cancel()
            done = job.done or next((e for e in first if isinstance(e, TurnDone)), None)
            assert done is not None
            return JSONResponse(chat_completion(cid, job.turn.served_id, done))
        chunks = ChatChunks(cid, job.turn.served_id, req.include_usage)

        async def body() -> AsyncIterator[bytes]:
            watcher = asyncio.create_task(watch_disconnect(request, job.cancel))
            try:
                yield sse(chunks.first())
                for chunk in chunks.chunks(first):
                    yield sse(chunk)
                async for batch in stream:
                    yield b"".join(sse(c) for c in chunks.chunks(batch))
                yield b"data: [DONE]\n\n"
            except ApiError as exc:
                yield sse(exc.body())
            finally:
                watcher.cancel()
                job.cancel.cancel()  # a client that went away mid-stream stops the generation

        return StreamingResponse(body(), media_type="text/event-stream", headers=SSE_HEADERS)

    async def responses(request: Request) -> Response:
        job, body = await start_job(request, service.prepare_responses)
        turn = job.turn
        builder = ResponseBuilder(turn.served_id, body, turn.previous_id)
        stream, first = await first_batch(request, job)

        def finish() -> None:
            if job.done is not None and builder.status != "cancelled":
                service.save_response(turn, job.done, builder.response())

        if not turn.request.stream:
            builder.feed(first)
            watcher = asyncio.create_task(watch_disconnect(request, job.cancel))
            try:
                async for batch in stream:
                    builder.feed(batch)
            finally:
                watcher.cancel()
            finish()
            return JSONResponse(builder.response())

        async def events() -> AsyncIterator[bytes]:
            watcher = asyncio.create_task(watch_disconnect(request, job.cancel))
            try:
                for name, data in [*builder.start(), *builder.feed(first)]:
                    yield sse(data, name)
                async for batch in stream:
                    yield b"".join(sse(data, name) for name, data in builder.feed(batch))
                finish()
            except ApiError as exc:
                yield sse({"type": "error", **exc.body()["error"]}, "error")
            finally:
                watcher.cancel()
                job.cancel.cancel()

        return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)

    async def get_response(request: Request) -> Response:
        rid = request.path_params["response_id"]
        stored = service.responses.get(rid) if service.responses else None
        if stored is None:
            raise ApiError(404, f"No response with id {rid!r}", code="response_not_found")
        return JSONResponse(stored.response)

    async def delete_response(request: Request) -> Response:
        rid = request.path_params["response_id"]
        if service.responses is None or not service.responses.delete(rid):
            raise ApiError(404, f"No response with id {rid!r}", code="response_not_found")
        return JSONResponse({"id": rid, "object": "response", "deleted": True})

    async def api_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def not_found(request: Request, _exc: Exception) -> Response:
        return error_response(
            ApiError(
                404, f"Unknown request URL: {request.method} {request.url.path}", code="unknown_url"
            )
        )

    async def not_allowed(request: Request, _exc: Exception) -> Response:
        return error_response(
            ApiError(405, f"Method {request.method} is not allowed on {request.url.path}")
        )

    async def crashed(_request: Request, exc: Exception) -> Response:
        return error_response(
            ApiError(500, f"Internal error: {type(exc).__name__}: {exc}", type="server_error")
        )

    routes = [
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{model:path}", models, methods=["GET"]),
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/responses", responses, methods=["POST"]),
        Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
        Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: api_error,
            404: not_found,
            405: not_allowed,
            Exception: crashed,
        },
    )
    app.state.jobs = jobs
    app.add_middleware(AccessMiddleware, policy=settings.policy)
    return app


def cancel_all(app: Starlette) -> None:
    """Stop every running or waiting job (server shutdown)."""
    for job in list(app.state.jobs):
        job.cancel.cancel()
