"""The download loop's HTTP: redirects, the token's reach, proxies, chunked bodies, failures.

A second loopback server (another port, so another origin) stands in for a CDN that the hub
redirects to, and for an HTTP proxy.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import socket
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from gptoss_desktop.core.library.fetch import FetchError, open_get
from tests.core.library.conftest import FILE, REPO
from tests.core.library.hubserver import HubServer

TOKEN = "Bearer hf_secret_token"


class _Side(BaseHTTPRequestHandler):
    """/redirect?to=URL answers 302 (/loop to itself); /chunked answers a chunked body; absolute-form GETs are
    forwarded (an HTTP proxy); CONNECT is refused with 407."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str]]  # method, target, Authorization

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append(  # type: ignore[attr-defined]
            ("GET", self.path, self.headers.get("Authorization", ""))
        )
        parts = urlsplit(self.path)
        if parts.scheme == "http":  # a proxy request
            # Forward without the environment's proxy settings (which point here).
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            req = urllib.request.Request(self.path, headers=dict(self.headers.items()))
            with opener.open(req) as resp:
                body = resp.read()
                self.send_response(resp.status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            return
        if parts.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", parse_qs(parts.query)["to"][0])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if parts.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if parts.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"hello, ", b"chunked ", b"world"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        if parts.path == "/short":  # promises more than it sends, then hangs up
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.write(b"x" * 10)
            self.close_connection = True
            return
        self.send_error(404)

    def do_CONNECT(self) -> None:
        self.server.seen.append(("CONNECT", self.path, ""))  # type: ignore[attr-defined]
        self.send_response(407, "Proxy Authentication Required")
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def side() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Side)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer, path: str) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}{path}"


def _get(url: str, headers: dict[str, str] | None = None, timeout: float = 5.0) -> bytes:
    with open_get(url, headers or {}, connect_timeout=timeout, read_timeout=timeout) as resp:
        assert resp.status == 200, resp.status
        out = bytearray()
        buf = memoryview(bytearray(4096))
        while n := resp.readinto(buf):
            out += buf[:n]
        return bytes(out)


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def _file_url(hub_server: HubServer) -> str:
    return f"{hub_server.endpoint}/{REPO}/resolve/main/{FILE}"


def test_a_redirect_to_another_origin_does_not_carry_the_token(
    hub_server, side, model_bytes, no_proxy_env
):
    url = _url(side, "/redirect?to=" + _file_url(hub_server))
    assert _get(url, {"Authorization": TOKEN}) == model_bytes
    assert side.seen == [("GET", urlsplit(url).path + "?" + urlsplit(url).query, TOKEN)]
    assert hub_server.stats.auth_headers == [""]  # the file's server never saw the token


def test_a_redirect_within_the_origin_keeps_the_token(hub_server, model_bytes, no_proxy_env):
    hub_server.redirect = True  # /resolve/... answers 302 to /_cdn/... on the same server
    assert _get(_file_url(hub_server), {"Authorization": TOKEN}) == model_bytes
    paths = [p for _, p, _ in hub_server.stats.requests]
    assert len(paths) == 2 and paths[1].startswith("/_cdn/")
    assert hub_server.stats.auth_headers == [TOKEN, TOKEN]


def test_a_redirect_loop_ends_with_a_clear_error(side, no_proxy_env):
    with pytest.raises(FetchError, match="more than 10 redirects"):
        _get(_url(side, "/redirect?to=/redirect%3Fto%3D/loop"))
    assert len(side.seen) == 11


def test_the_environments_http_proxy_is_used(hub_server, side, model_bytes, monkeypatch):
    monkeypatch.setenv("http_proxy", _url(side, ""))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert _get(_file_url(hub_server)) == model_bytes
    assert side.seen[0][:2] == ("GET", _file_url(hub_server))  # absolute form: via the proxy


def test_no_proxy_is_honoured(hub_server, side, model_bytes, monkeypatch):
    monkeypatch.setenv("http_proxy", _url(side, ""))
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    assert _get(_file_url(hub_server)) == model_bytes
    assert side.seen == []


def test_a_proxy_that_refuses_the_tunnel_says_so(side, monkeypatch):
    monkeypatch.setenv("https_proxy", _url(side, ""))
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    with pytest.raises(FetchError, match=r"the proxy refused the connection \(407"):
        _get("https://huggingface.co/whatever")
    assert side.seen == [("CONNECT", "huggingface.co:443", "")]


def test_a_chunked_body_is_decoded(side, no_proxy_env):
    assert _get(_url(side, "/chunked")) == b"hello, chunked world"


def test_a_body_cut_short_is_an_error_not_an_end(side, no_proxy_env):
    with pytest.raises(FetchError, match="closed with 990 bytes still to come"):
        _get(_url(side, "/short"))


def test_a_refused_connection_and_a_bad_address_are_explained(no_proxy_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: connections are refused
        with pytest.raises(FetchError, match="the connection was refused"):
            _get(f"http://127.0.0.1:{port}/x")
    with pytest.raises(FetchError, match="not an http"):
        _get("ftp://example.org/model.gguf")


def test_http_errors_are_returned_for_the_caller_to_judge(hub_server, no_proxy_env):
    url = f"{hub_server.endpoint}/{REPO}/resolve/main/missing.gguf"
    with open_get(url, {}, connect_timeout=5, read_timeout=5) as resp:
        assert resp.status == 404
    assert isinstance(resp.headers, http.client.HTTPMessage)


# --- https ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (cert.pem, key.pem)."""
    pytest.importorskip("cryptography", reason="cryptography makes the test certificate")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_side(certificate: tuple[Path, Path]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Side)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certificate)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_https_with_a_trusted_certificate(tls_side, certificate, no_proxy_env):
    ctx = ssl.create_default_context(cafile=str(certificate[0]))
    url = _url(tls_side, "/chunked").replace("http://", "https://")
    with open_get(url, {}, connect_timeout=5, read_timeout=5, ssl_context=ctx) as resp:
        assert resp.status == 200
        buf = memoryview(bytearray(64))
        assert bytes(buf[: resp.readinto(buf)]).startswith(b"hello")


def test_https_with_an_untrusted_certificate_is_refused(tls_side, no_proxy_env):
    url = _url(tls_side, "/chunked").replace("http://", "https://")
    with pytest.raises(FetchError, match="certificate is not trusted"):
        _get(url)  # the default trust store does not know this self-signed certificate
