"""Who may talk to the local API: an ASGI middleware run before any route.

A web page in the user's browser can reach ``http://127.0.0.1:PORT`` too, so:

* **Host** must name the loopback interface (``127.0.0.1``, ``localhost``, ``[::1]``) or the
  address the server was explicitly bound to: a DNS-rebinding page arrives with its own name.
* **Cross-origin browser requests** are refused: a request with an ``Origin`` header (or
  ``Sec-Fetch-Site: cross-site/same-site``) passes only when the user allowed that origin, and
  only then does the API answer CORS preflights and add CORS headers. No CORS by default.
* **The key**: when set (always, off loopback), ``Authorization: Bearer KEY`` (or
  ``x-api-key``) must carry it; compared in constant time.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from gptoss_desktop.core.api.errors import ApiError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


@dataclass
class AccessPolicy:
    api_key: str | None = None
    allowed_origins: tuple[str, ...] = ()
    #: extra Host names accepted (the address given with --host); "*" accepts any
    extra_hosts: tuple[str, ...] = ()
    public_paths: frozenset[str] = field(default_factory=frozenset)

    def host_allowed(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name = _host_name(host_header.strip().lower())
        if name in LOOPBACK_NAMES:
            return True
        return "*" in self.extra_hosts or name in {h.lower().strip("[]") for h in self.extra_hosts}

    def origin_allowed(self, origin: str) -> bool:
        return origin.rstrip("/") in {o.rstrip("/") for o in self.allowed_origins}

    def key_ok(self, headers: dict[str, str]) -> bool:
        if not self.api_key:
            return True
        given = ""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        elif headers.get("x-api-key"):
            given = headers["x-api-key"].strip()
        return hmac.compare_digest(given.encode(), self.api_key.encode())


def _host_name(host: str) -> str:
    if host.startswith("["):  # [::1]:8080
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


async def send_error(send: Send, error: ApiError, extra: Iterable[tuple[str, str]] = ()) -> None:
    body = json.dumps(error.body()).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    for k, v in [*error.headers.items(), *extra]:
        headers.append((k.lower().encode(), v.encode()))
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AccessMiddleware:
    def __init__(self, app: ASGIApp, policy: AccessPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        policy = self.policy
        if not policy.host_allowed(headers.get("host")):
            await send_error(
                send,
                ApiError(
                    403,
                    f"Host {headers.get('host')!r} is not allowed: the local API answers only "
                    "requests addressed to 127.0.0.1 or localhost",
                    code="host_not_allowed",
                ),
            )
            return
        origin = headers.get("origin")
        fetch_site = headers.get("sec-fetch-site", "")
        cors: list[tuple[str, str]] = []
        if origin is not None or fetch_site in ("cross-site", "same-site"):
            if origin is None or not policy.origin_allowed(origin):
                await send_error(
                    send,
                    ApiError(
                        403,
                        f"Cross-origin request from {origin or 'a web page'} refused: browser "
                        "pages may use the local API only from an origin the user allowed "
                        "in Settings > Local API",
                        code="origin_not_allowed",
                    ),
                )
                return
            cors = [
                ("access-control-allow-origin", origin),
                ("vary", "Origin"),
                ("access-control-allow-headers", "authorization, content-type, x-api-key"),
                ("access-control-allow-methods", "GET, POST, DELETE, OPTIONS"),
            ]
            if scope["method"] == "OPTIONS":
                await send(
                    {
                        "type": "http.response.start",
                        "status": 204,
                        "headers": [(k.encode(), v.encode()) for k, v in cors],
                    }
                )
                await send({"type": "http.response.body", "body": b""})
                return
        if scope["path"] not in policy.public_paths and not policy.key_ok(headers):
            missing = not (headers.get("authorization") or headers.get("x-api-key"))
            message = (
                "You didn't provide an API key. Send it as 'Authorization: Bearer KEY' "
                "(Settings > Local API shows the key)"
                if missing
                else "Incorrect API key provided. Settings > Local API shows the key."
            )
            await send_error(send, ApiError(401, message, code="invalid_api_key"), cors)
            return
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message)
                message["headers"] = [
                    *message.get("headers", []),
                    *((k.encode(), v.encode()) for k, v in cors),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)
