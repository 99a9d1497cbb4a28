"""One HTTP GET whose body lands straight in the caller's buffer.

The download loop needs little from HTTP: a GET with a Range header, redirects followed (the
hub sends file requests on to its CDN), the environment's proxy, timeouts, and a body it can
read into its own buffers. httpx, used everywhere else in the app, hands the body over in
64 KiB ``bytes`` that went through h11's buffer first: three copies and several Python
layers per chunk, which on a fast link cost more CPU than the sha256 itself. Here the body is
read with one ``recv_into`` per call into memory the caller owns (``http.client`` from the
standard library; TLS settings from httpx, so both paths trust the same certificates).

Redirects to another origin drop ``Authorization``, as httpx and browsers do: the token is
for the hub, never for the CDN it sends us to.
"""

from __future__ import annotations

import base64
import http.client
import socket
import ssl
import urllib.request
from email.message import Message
from typing import Literal
from urllib.parse import SplitResult, unquote, urljoin, urlsplit

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10


class FetchTimeout(Exception):
    """No connection in time (``connect``) or no byte for the read timeout (``stall``)."""

    def __init__(self, kind: Literal["connect", "stall"]) -> None:
        super().__init__(kind)
        self.kind = kind


class FetchError(Exception):
    """The connection failed or broke; the message says how, in a few words."""


class Response:
    """An open response: ``status``, ``headers``, the final ``url`` and :meth:`readinto`."""

    def __init__(
        self, conn: http.client.HTTPConnection, resp: http.client.HTTPResponse, url: str
    ) -> None:
        self._conn = conn
        self._resp = resp
        self.url = url
        self.status = resp.status
        self.headers: Message = resp.headers
        # A plain Content-Length body is read from the socket directly; anything else
        # (chunked, or length unknown) through http.client, which decodes it.
        self._left: int | None = None if resp.chunked else resp.length

    def readinto(self, view: memoryview) -> int:
        """Fill the start of ``view`` with what one read brings; 0 at the end of the body."""
        try:
            if self._left is None:
                data = self._resp.read1(len(view))
                view[: len(data)] = data
                return len(data)
            if not self._left or not len(view):
                return 0
            assert self._resp.fp is not None
            n = self._resp.fp.readinto1(view[: min(len(view), self._left)])
        except TimeoutError:
            raise FetchTimeout("stall") from None
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(_describe(exc)) from None
        if not n:
            raise FetchError(f"the connection closed with {self._left} bytes still to come")
        self._left -= n
        return n

    def close(self) -> None:
        # Both: after a "Connection: close" answer http.client hands the socket to the
        # response, and closing the connection alone would leave it open.
        self._resp.close()
        self._conn.close()  # never reused: a half-read body cannot go back to a pool

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_get(
    url: str,
    headers: dict[str, str],
    *,
    connect_timeout: float,
    read_timeout: float,
    ssl_context: ssl.SSLContext | None = None,
) -> Response:
    """GET ``url`` and return once the response headers are in, redirects followed.

    Raises :class:`FetchTimeout` or :class:`FetchError`; HTTP error statuses are returned,
    not raised, so the caller decides what each one means.
    """
    headers = dict(headers)
    for _ in range(MAX_REDIRECTS + 1):
        conn, target, extra = _connect(url, connect_timeout, read_timeout, ssl_context)
        try:
            conn.request("GET", target, headers={**headers, **extra})
            resp = conn.getresponse()
        except TimeoutError:
            conn.close()
            raise FetchTimeout("stall") from None
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise FetchError(_describe(exc)) from None
        location = resp.getheader("location")
        if resp.status not in _REDIRECTS or not location:
            return Response(conn, resp, url)
        resp.close()
        conn.close()
        nxt = urljoin(url, location)
        if _origin(nxt) != _origin(url):
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        url = nxt
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")


def _connect(
    url: str, connect_timeout: float, read_timeout: float, ssl_context: ssl.SSLContext | None
) -> tuple[http.client.HTTPConnection, str, dict[str, str]]:
    """A connection for ``url`` (through the proxy if one applies), the request target, and
    headers the proxy wants with the request."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"cannot download from {url!r}: not an http(s) address")
    host, port = parts.hostname, parts.port
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    proxy = _proxy_for(parts.scheme, host)
    conn: http.client.HTTPConnection
    extra: dict[str, str] = {}  # headers for the proxy that go with the request itself
    if proxy is None:
        conn = _new_connection(parts.scheme, host, port, connect_timeout, ssl_context)
        target = path
    else:
        p = urlsplit(proxy)
        if p.scheme != "http" or not p.hostname:
            raise FetchError(f"the proxy {proxy!r} is not supported; use an http:// proxy address")
        auth = _proxy_auth(p)
        conn = _new_connection(
            parts.scheme, p.hostname, p.port or 8080, connect_timeout, ssl_context
        )
        if parts.scheme == "https":
            conn.set_tunnel(host, port, headers=auth)
            target = path
        else:
            target = url  # absolute form, for the proxy to forward
            extra = auth
    try:
        conn.connect()
    except TimeoutError:
        conn.close()
        raise FetchTimeout("connect") from None
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        raise FetchError(_describe(exc)) from None
    assert conn.sock is not None
    conn.sock.settimeout(read_timeout)
    return conn, target, extra


def _new_connection(
    scheme: str, host: str, port: int | None, timeout: float, ctx: ssl.SSLContext | None
) -> http.client.HTTPConnection:
    if scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=ctx or _ssl())
    return http.client.HTTPConnection(host, port, timeout=timeout)


_SSL: ssl.SSLContext | None = None


def _ssl() -> ssl.SSLContext:
    """httpx's default context (certifi, or SSL_CERT_FILE / SSL_CERT_DIR): one trust store."""
    global _SSL
    if _SSL is None:
        import httpx

        _SSL = httpx.create_ssl_context()
    return _SSL


def _proxy_for(scheme: str, host: str) -> str | None:
    """The proxy the system or environment names for this scheme, unless ``host`` bypasses it."""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy if "://" in proxy else "http://" + proxy


def _proxy_auth(p: SplitResult) -> dict[str, str]:
    if not p.username:
        return {}
    secret = f"{unquote(p.username)}:{unquote(p.password or '')}"
    return {"Proxy-Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


def _origin(url: str) -> tuple[str, str, int | None]:
    p = urlsplit(url)
    port = p.port or {"http": 80, "https": 443}.get(p.scheme)
    return p.scheme, (p.hostname or "").lower(), port


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the server's certificate is not trusted ({exc.verify_message})"
    if isinstance(exc, socket.gaierror):
        return "the server's name cannot be resolved (offline?)"
    if isinstance(exc, OSError) and str(exc).startswith("Tunnel connection failed"):
        return f"the proxy refused the connection ({str(exc).split(':', 1)[1].strip()})"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(exc, (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)):
        return "the connection was reset"
    return f"network error ({type(exc).__name__})"
