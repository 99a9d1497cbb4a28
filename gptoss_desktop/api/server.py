"""ApiServer: the Starlette app on uvicorn in a background thread, on a socket it binds itself.

Used by ``gptoss-desktop serve`` (which waits for SIGTERM/SIGINT in the main thread) and by
the window's "Local API" switch. Loopback only unless a host is given; then a key is required.
"""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from gptoss_desktop.api.app import ApiSettings, cancel_all, create_app
from gptoss_desktop.api.security import LOOPBACK_NAMES, AccessPolicy
from gptoss_desktop.core.api.service import ApiService
from gptoss_desktop.core.errors import GptossError

DEFAULT_PORT = 8977
LOOPBACK = "127.0.0.1"


class ApiServerError(GptossError):
    """The server could not start (port in use, bad address, no key off loopback)."""


@dataclass
class ServerConfig:
    host: str = LOOPBACK
    port: int = DEFAULT_PORT
    api_key: str | None = None
    allowed_origins: tuple[str, ...] = ()
    max_body_bytes: int = 8 * 1024 * 1024

    @property
    def is_loopback(self) -> bool:
        if self.host in LOOPBACK_NAMES:
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False


class ApiServer:
    def __init__(self, service: ApiService, config: ServerConfig) -> None:
        if not config.is_loopback and not config.api_key:
            raise ApiServerError(
                f"Serving on {config.host} (not loopback) needs an API key: other machines "
                "could use the model. Give --api-key KEY, or keep the default 127.0.0.1."
            )
        self.service = service
        self.config = config
        extra: tuple[str, ...] = ()
        if not config.is_loopback:
            unspecified = config.host in ("0.0.0.0", "::", "[::]")
            extra = ("*",) if unspecified else (config.host,)
        policy = AccessPolicy(config.api_key, tuple(config.allowed_origins), extra)
        self.app = create_app(service, ApiSettings(policy, config.max_body_bytes))
        self._server: object | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        host = self.config.host
        shown = LOOPBACK if host in ("0.0.0.0", "localhost") else host
        if ":" in shown and not shown.startswith("["):
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}"

    def start(self, timeout: float = 15.0) -> str:
        """Bind, start serving, and return the base URL once it answers /v1/models."""
        import uvicorn

        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        # IPPROTO_TCP, so asyncio sets TCP_NODELAY on accepted connections (with proto 0 it
        # does not, and Nagle + delayed ACKs hold small SSE chunks back ~40 ms)
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.config.host.strip("[]"), self.config.port))
        except OSError as exc:
            sock.close()
            raise ApiServerError(
                f"Could not listen on {self.config.host}:{self.config.port} ({exc.strerror}); "
                "choose another port with --port"
            ) from None
        sock.listen(64)
        sock.set_inheritable(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            server_header=False,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="local-api", daemon=True
        )
        self._thread.start()
        self._wait_answering(timeout)
        return self.url

    def _wait_answering(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(
            f"http://{LOOPBACK if self.config.host in ('0.0.0.0', 'localhost') else self.config.host}:{self.port}/v1/models"
        )
        if self.config.api_key:
            request.add_header("Authorization", f"Bearer {self.config.api_key}")
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._thread is not None and not self._thread.is_alive():
                break
            try:
                with urllib.request.urlopen(request, timeout=2) as reply:
                    json.loads(reply.read())
                    return
            except (OSError, urllib.error.URLError, ValueError) as exc:
                last = exc
                time.sleep(0.05)
        self.stop()
        raise ApiServerError(f"The local API did not start answering ({last})")

    def stop(self, timeout: float = 10.0) -> None:
        server = self._server
        if server is None:
            return
        cancel_all(self.app)
        server.should_exit = True  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                server.force_exit = True  # type: ignore[attr-defined]
                self._thread.join(timeout)
        self._server = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
