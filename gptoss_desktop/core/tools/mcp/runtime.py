"""The MCP client: one event loop thread owning one session per server, behind a plain API.

Qt-free. The SDK (``mcp``) is asyncio; the app is threads. :class:`McpRuntime` runs one
event loop in a daemon thread; each running server is a :class:`_Connection` whose task
owns the transport (a child process over stdio, or a streamable-HTTP client) and the
``ClientSession`` for as long as the server runs. The synchronous methods (:meth:`tools`,
:meth:`call`, :meth:`stop`) hand coroutines to that loop and wait on futures with a
timeout, so no caller ever waits forever and the GUI thread is never the one waiting.

A server is started on first use and restarted on the next use after it died. A call that
times out is cancelled; if the server then does not answer a ping it is stopped (the next
call starts it again). ``notifications/tools/list_changed`` makes the runtime list the
tools again and tell ``on_tools_changed``. Nothing connects or starts until a method that
needs the server is called for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import IO, Any

from gptoss_desktop.core.errors import ToolError
from gptoss_desktop.core.tools.mcp.config import HTTP, McpServerConfig
from gptoss_desktop.core.tools.mcp.convert import McpTool, RenderedResult, render_result

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0
PING_TIMEOUT_S = 3.0
STDERR_TAIL = 2000  # characters of a server's stderr kept for error messages


class McpServerError(ToolError):
    """A server could not be started, died, or did not answer; the message says which."""

    def __init__(self, server: str, message: str, *, details: str = "") -> None:
        super().__init__(message, details=details)
        self.server = server


class McpTimeout(McpServerError):
    """A server did not answer in time."""


ToolsChanged = Callable[[str, list[McpTool]], None]


@dataclass(frozen=True)
class ServerInfo:
    """What a running server said about itself."""

    name: str
    version: str
    instructions: str | None = None


class _Connection:
    """One running server: its task holds the transport and the session open."""

    def __init__(self, config: McpServerConfig, runtime: McpRuntime) -> None:
        self.config = config
        self.runtime = runtime
        self.session: Any = None
        self.tools: list[McpTool] = []
        self.info: ServerInfo | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # seen, not logged
        self.stopping = asyncio.Event()
        self.closed = asyncio.Event()
        self.dead_reason: str | None = None
        self.stderr: IO[str] | None = None
        self._relisting: asyncio.Future[None] | None = None
        self.retired = False  # set from any thread: a stop was asked for
        self.task = asyncio.ensure_future(self._run())

    @property
    def alive(self) -> bool:
        return self.dead_reason is None and not self.closed.is_set() and not self.retired

    def stderr_tail(self) -> str:
        if self.stderr is None:
            return ""
        try:
            self.stderr.flush()
            self.stderr.seek(0, 2)
            size = self.stderr.tell()
            self.stderr.seek(max(0, size - STDERR_TAIL * 4))
            return self.stderr.read()[-STDERR_TAIL:].strip()
        except (OSError, ValueError):
            return ""

    async def _handle(self, message: Any) -> None:
        from mcp import types

        if isinstance(message, Exception):
            log.warning(
                "MCP server %s sent something that is not JSON-RPC: %s", self.config.name, message
            )
            return
        if isinstance(message, types.ToolListChangedNotification):
            self._relisting = asyncio.ensure_future(self._relist())

    async def _relist(self) -> None:
        try:
            await asyncio.wait_for(self._list(), self.config.timeout_s)
        except Exception as exc:
            log.warning("MCP server %s: listing tools again failed: %s", self.config.name, exc)
            return
        self.runtime._tools_changed(self.config.name, list(self.tools))

    async def _list(self) -> None:
        tools: list[McpTool] = []
        cursor: str | None = None
        from mcp import types

        for _page in range(100):
            params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
            result = await self.session.list_tools(params=params)
            for tool in result.tools:
                notes = tool.annotations
                tools.append(
                    McpTool(
                        self.config.name,
                        tool.name,
                        tool.description or "",
                        tool.input_schema if isinstance(tool.input_schema, Mapping) else None,
                        tool.title or (notes.title if notes else None),
                        notes.read_only_hint if notes else None,
                        notes.destructive_hint if notes else None,
                    )
                )
            cursor = result.next_cursor
            if not cursor:
                break
        self.tools = tools

    def _transport(self) -> contextlib.AbstractAsyncContextManager[Any]:
        config = self.config
        if config.transport == HTTP:
            import httpx2
            from mcp.client.streamable_http import streamable_http_client

            client = httpx2.AsyncClient(
                headers=dict(config.headers),
                timeout=httpx2.Timeout(30.0, read=max(300.0, config.timeout_s)),
                trust_env=False,  # never through a proxy from the environment
            )
            return _with_client(client, streamable_http_client(config.url, http_client=client))
        from mcp.client.stdio import StdioServerParameters, stdio_client

        # closed when the connection ends (_run's finally)
        self.stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115
        params = StdioServerParameters(
            command=config.command, args=list(config.args), env=dict(config.env) or None,
            cwd=config.cwd, encoding_error_handler="replace",
        )  # fmt: skip
        return stdio_client(params, errlog=self.stderr)

    async def _run(self) -> None:
        from mcp import ClientSession, types

        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = ClientSession(
                    read, write, message_handler=self._handle,
                    client_info=types.Implementation(name="gptoss-desktop", version="0.1"),
                )  # fmt: skip
                self.session = await stack.enter_async_context(session)
                init = await session.initialize()
                self.info = ServerInfo(
                    init.server_info.name, init.server_info.version, init.instructions
                )
                await self._list()
                self.ready.set_result(None)
                await self.stopping.wait()
        except BaseException as exc:
            if isinstance(exc, asyncio.CancelledError) and self.stopping.is_set():
                self.dead_reason = "stopped while starting"
            else:
                self.dead_reason = _describe(exc)
            if not self.ready.done():
                self.ready.set_exception(
                    McpServerError(
                        self.config.name, self._why_not_started(), details=self.stderr_tail()
                    )
                )
        finally:
            if self.dead_reason is None:
                self.dead_reason = "stopped"
            self.closed.set()
            if self.stderr is not None:
                with contextlib.suppress(OSError):
                    self.stderr.close()
                self.stderr = None

    def _why_not_started(self) -> str:
        config = self.config
        what = f"the command {config.command_line!r}" if config.transport != HTTP else config.url
        line = f"MCP server {config.name!r} did not start ({what}): {self.dead_reason}"
        tail = self.stderr_tail().splitlines()
        return line + (f". It said: {tail[-1][:300]}" if tail else "")

    async def stop(self) -> None:
        self.stopping.set()
        if not self.ready.done():  # still starting: nothing to wind down politely
            self.task.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(self.closed.wait()), 10)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(self.task, 5)


@contextlib.asynccontextmanager
async def _with_client(client: Any, transport: Any) -> Any:
    async with client, transport as streams:
        yield streams


def _describe(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, FileNotFoundError):
        return f"the program was not found ({exc.filename or exc})"
    if isinstance(exc, PermissionError):
        return f"the program cannot be run ({exc})"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:300] if text else type(exc).__name__


class McpRuntime:
    """Every MCP server connection of the app, on one event loop thread."""

    def __init__(self, *, on_tools_changed: ToolsChanged | None = None) -> None:
        self.on_tools_changed = on_tools_changed
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: dict[str, _Connection] = {}
        self._background: set[asyncio.Future[None]] = set()  # servers winding down
        self._closed = False

    # --- the loop ------------------------------------------------------------------------------
    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._closed:
                raise ToolError("the MCP client is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                self._thread = threading.Thread(target=run, name="mcp-client", daemon=True)
                self._thread.start()
                ready.wait()
                self._loop = loop
            return self._loop

    def _submit(self, coro: Any, timeout: float) -> Any:
        loop = self._ensure_loop()
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise McpTimeout("", f"the MCP client did not answer within {timeout:.0f} s") from None

    def _tools_changed(self, server: str, tools: list[McpTool]) -> None:
        if self.on_tools_changed is not None:
            try:
                self.on_tools_changed(server, tools)
            except Exception:
                log.exception("on_tools_changed failed")

    # --- on the loop ---------------------------------------------------------------------------
    async def _connect(self, config: McpServerConfig) -> _Connection:
        conn = self._connections.get(config.name)
        if conn is not None and (conn.config != config or not conn.alive):
            await conn.stop()
            conn = None
        if conn is None:
            conn = _Connection(config, self)
            self._connections[config.name] = conn
        try:
            await asyncio.wait_for(
                asyncio.shield(conn.ready), min(START_TIMEOUT_S, config.timeout_s + 10)
            )
        except TimeoutError:
            await conn.stop()
            raise McpTimeout(
                config.name,
                f"MCP server {config.name!r} did not answer within "
                f"{min(START_TIMEOUT_S, config.timeout_s + 10):.0f} s of starting; it was stopped",
                details=conn.stderr_tail(),
            ) from None
        return conn

    async def _call(
        self, config: McpServerConfig, tool: str, arguments: Mapping[str, Any]
    ) -> RenderedResult:
        conn = await self._connect(config)
        if not await self._answers(conn):  # it died since the last call: start it again
            await conn.stop()
            conn = await self._connect(config)
        try:
            result = await asyncio.wait_for(
                conn.session.call_tool(tool, dict(arguments)), config.timeout_s
            )
        except TimeoutError:
            if not await self._answers(conn):
                self._retire_soon(conn)  # a hung process can take seconds to end: not our wait
                raise McpTimeout(
                    config.name,
                    f"MCP server {config.name!r} did not answer within {config.timeout_s:g} s and "
                    "stopped responding; it was stopped and will start again on the next call",
                ) from None
            raise McpTimeout(
                config.name,
                f"{tool} on MCP server {config.name!r} did not finish within {config.timeout_s:g} s; "
                "the call was cancelled",
            ) from None
        except Exception as exc:
            from mcp.shared.exceptions import MCPError

            if conn.alive and await self._answers(conn):  # it runs: the answer was wrong
                what = (
                    "refused the call"
                    if isinstance(exc, MCPError)
                    else f"answered {tool} with something that is not an MCP result"
                )
                raise McpServerError(
                    config.name, f"MCP server {config.name!r} {what}: {_describe(exc)}"
                ) from None
            tail = conn.stderr_tail()
            await conn.stop()
            line = f"MCP server {config.name!r} stopped during the call ({_describe(exc)})"
            last = tail.splitlines()[-1][:300] if tail else ""
            raise McpServerError(
                config.name, line + (f"; its last words: {last}" if last else "") +
                "; it will start again on the next call", details=tail,
            ) from None  # fmt: skip
        content = [block.model_dump(by_alias=True, mode="json") for block in result.content]
        return render_result(
            content, result.structured_content, bool(result.is_error), config.output_cap
        )

    async def _answers(self, conn: _Connection) -> bool:
        if not conn.alive:
            return False
        try:
            await asyncio.wait_for(conn.session.send_ping(), PING_TIMEOUT_S)
        except Exception:
            return False
        return True

    async def _stop(self, name: str) -> None:
        conn = self._connections.pop(name, None)
        if conn is not None:
            await conn.stop()

    def _retire_soon(self, conn: _Connection) -> None:
        conn.retired = True
        task = asyncio.ensure_future(self._retire(conn))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _retire(self, conn: _Connection) -> None:
        if self._connections.get(conn.config.name) is conn:
            del self._connections[conn.config.name]
        await conn.stop()

    async def _stop_all(self) -> None:
        for name in list(self._connections):
            await self._stop(name)
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await asyncio.sleep(0.1)  # lets the loop hear the server processes' exits

    # --- the synchronous facade -------------------------------------------------------------
    def tools(self, config: McpServerConfig) -> list[McpTool]:
        """The server's tools; starts it if it is not running."""
        conn = self._submit(self._connect(config), START_TIMEOUT_S + 15)
        return list(conn.tools)

    def info(self, name: str) -> ServerInfo | None:
        conn = self._connections.get(name)
        return conn.info if conn is not None else None

    def call(
        self, config: McpServerConfig, tool: str, arguments: Mapping[str, Any]
    ) -> RenderedResult:
        """Run one tool; raises McpServerError (or McpTimeout) with a line for the user."""
        result: RenderedResult = self._submit(
            self._call(config, tool, arguments), config.timeout_s + START_TIMEOUT_S + 20
        )
        return result

    def running(self) -> list[str]:
        return [name for name, conn in list(self._connections.items()) if conn.alive]

    def stop(self, name: str, *, wait: bool = True) -> None:
        """Stop a server. ``wait=False`` returns at once (the GUI thread never waits): the
        server counts as stopped now and winds down on the MCP thread."""
        loop = self._loop
        conn = self._connections.get(name)
        if loop is None or conn is None:
            return
        conn.retired = True
        if wait:
            self._submit(self._retire(conn), 30)
        else:
            asyncio.run_coroutine_threadsafe(self._retire(conn), loop)

    def close(self) -> None:
        """Stop every server and the loop thread."""
        with self._lock:
            loop, self._closed = self._loop, True
        if loop is None:
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop_all(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        if not loop.is_running():
            loop.close()

    def __enter__(self) -> McpRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
