"""A loopback Hugging Face hub for tests and the download benchmark, with fault injection.

It speaks the endpoints huggingface_hub 2.4 uses (read from its source):

- ``GET /api/models/{repo}`` and ``/api/models/{repo}/revision/{rev}`` (``model_info``;
  ``?blobs=True`` adds sizes and LFS hashes to ``siblings``)
- ``POST /api/models/{repo}/paths-info/{rev}`` with form fields ``paths`` (``get_paths_info``)
- ``GET/HEAD /{repo}/resolve/{rev}/{path}`` with Range, ETag, X-Repo-Commit,
  X-Linked-Size and X-Linked-Etag; optionally a 302 to a "CDN" path, like the real hub.

Errors carry ``X-Error-Code`` (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo) as
the hub does, so huggingface_hub raises its own typed errors. Faults are set on
:attr:`HubServer.faults` while the server runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass
class Repo:
    files: dict[str, bytes]
    commit: str = ""
    gated: bool = False
    token: str = "hf_test_token"  # accepted when gated
    lfs: bool = True  # False: serve as plain git files (no sha256, git blob id only)
    on_disk: dict[str, Path] = field(
        default_factory=dict
    )  # served with sendfile when no fault applies

    def __post_init__(self) -> None:
        if not self.commit:
            self.commit = hashlib.sha1(repr(sorted(self.files)).encode()).hexdigest()

    def sha256(self, path: str) -> str:
        return hashlib.sha256(self.files[path]).hexdigest()

    def blob_id(self, path: str) -> str:
        data = self.files[path]
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Faults:
    """What goes wrong. Counters (``*_times``) count down per response; -1 means always."""

    ignore_range: bool = False
    status: int | None = None  # answer file requests with this status...
    status_times: int = 0  # ...this many times (-1: always)
    drop_after: int | None = None  # close the connection after this many body bytes...
    drop_times: int = 0
    stall_after: int | None = None  # stop sending (keep the socket open) after this many bytes...
    stall_s: float = 0.0
    stall_times: int = 0
    corrupt_at: int | None = None  # flip one byte at this file offset in what is served
    pause_at: int | None = None  # stop at this file offset until released (kill tests)
    abort_after_pause: bool = False  # once released, hang up instead of sending the rest
    api_status: int | None = None  # answer API calls with this status
    rate_limit_bps: int | None = None  # bytes per second per response
    max_range_bytes: int | None = None  # answer a Range with at most this many bytes (some CDNs)


@dataclass
class Stats:
    body_bytes: int = 0
    sending: int = 0  # responses whose body is being sent right now
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, range
    auth_headers: list[str] = field(default_factory=list)


class HubServer:
    """``with HubServer({...}) as hub: hub.endpoint`` -> ``http://127.0.0.1:PORT``."""

    def __init__(self, repos: dict[str, Repo] | None = None, *, redirect: bool = False) -> None:
        self.repos: dict[str, Repo] = dict(repos or {})
        self.faults = Faults()
        self.stats = Stats()
        self.redirect = redirect
        self.lock = threading.Lock()
        self.paused = threading.Event()  # set when a pause_at offset was reached
        self.release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.hub = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> HubServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> HubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until no response body is being sent (after a client was killed)."""
        deadline = time.monotonic() + timeout
        while self.stats.sending and time.monotonic() < deadline:
            time.sleep(0.01)

    def take(self, counter: str) -> bool:
        """Consume one use of a counted fault; True if it applies to this response."""
        with self.lock:
            n = getattr(self.faults, counter)
            if n == 0:
                return False
            if n > 0:
                setattr(self.faults, counter, n - 1)
            return True


_API_RE = re.compile(
    r"^/api/models/(?P<repo>[^/]+/[^/]+)(?:/(?P<op>revision|paths-info)/(?P<rev>[^/]+))?$"
)
_RESOLVE_RE = re.compile(r"^/(?P<repo>[^/]+/[^/]+)/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")
_CDN_RE = re.compile(r"^/_cdn/(?P<repo>[^/]+/[^/]+)/(?P<path>.+)$")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    @property
    def hub(self) -> HubServer:
        return self.server.hub  # type: ignore[attr-defined,no-any-return]

    def log_message(self, format: str, *args: object) -> None:
        pass

    def handle(self) -> None:
        # The client may go away (killed, paused, timed out): then there is nothing to answer.
        with contextlib.suppress(ConnectionError, TimeoutError):
            super().handle()

    # --- routing ----------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        with self.hub.lock:
            self.hub.stats.requests.append((method, path, self.headers.get("Range", "")))
            self.hub.stats.auth_headers.append(self.headers.get("Authorization", ""))
        if m := _API_RE.match(path):
            if self.hub.faults.api_status:
                return self._error(self.hub.faults.api_status, "", "injected")
            if m["op"] == "paths-info" and method == "POST":
                return self._paths_info(m["repo"], unquote(m["rev"]))
            if method == "GET":
                return self._model_info(m["repo"], unquote(m["rev"] or "main"), parse_qs(url.query))
        if m := _RESOLVE_RE.match(path):
            return self._resolve(method, m["repo"], unquote(m["rev"]), m["path"])
        if m := _CDN_RE.match(path):
            return self._serve_file(method, m["repo"], m["path"])
        self._error(404, "", "no such endpoint")

    # --- API --------------------------------------------------------------------------------

    def _repo(self, repo_id: str, rev: str) -> Repo | None:
        repo = self.hub.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        if rev not in ("main", repo.commit):
            self._error(404, "RevisionNotFound", "Invalid rev id")
            return None
        return repo

    def _file_json(self, repo: Repo, p: str, *, tree: bool) -> dict[str, object]:
        data = repo.files[p]
        d: dict[str, object] = {"size": len(data)}
        if tree:
            d.update(type="file", path=p, oid=repo.blob_id(p))
            if repo.lfs:
                d["lfs"] = {"oid": repo.sha256(p), "size": len(data), "pointerSize": 134}
        else:
            d.update(rfilename=p, blobId=repo.blob_id(p))
            if repo.lfs:
                d["lfs"] = {"sha256": repo.sha256(p), "size": len(data), "pointerSize": 134}
        return d

    def _model_info(self, repo_id: str, rev: str, query: dict[str, list[str]]) -> None:
        repo = self._repo(repo_id, rev)
        if repo is None:
            return
        blobs = query.get("blobs", ["False"])[0].lower() == "true"
        siblings = [
            self._file_json(repo, p, tree=False) if blobs else {"rfilename": p}
            for p in sorted(repo.files)
        ]
        body = {
            "id": repo_id,
            "sha": repo.commit,
            "private": False,
            "gated": "manual" if repo.gated else False,
            "siblings": siblings,
            "cardData": {"license": "apache-2.0"},
        }
        self._json(body)

    def _paths_info(self, repo_id: str, rev: str) -> None:
        repo = self._repo(repo_id, rev)
        if repo is None:
            return
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        paths = form.get("paths", [])
        self._json([self._file_json(repo, p, tree=True) for p in paths if p in repo.files])

    # --- files ------------------------------------------------------------------------------

    def _resolve(self, method: str, repo_id: str, rev: str, path: str) -> None:
        repo = self._repo(repo_id, rev)
        if repo is None:
            return
        if repo.gated and self.headers.get("Authorization") != f"Bearer {repo.token}":
            return self._error(401, "GatedRepo", "Access to this gated repo is restricted")
        if path not in repo.files:
            return self._error(404, "EntryNotFound", "Entry not found")
        if self.hub.redirect:
            self.send_response(302)
            self.send_header("Location", f"/_cdn/{repo_id}/{path}")
            self._file_headers(repo, path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._serve_file(method, repo_id, path)

    def _file_headers(self, repo: Repo, path: str) -> None:
        etag = repo.sha256(path) if repo.lfs else repo.blob_id(path)
        self.send_header("ETag", f'"{etag}"')
        self.send_header("X-Repo-Commit", repo.commit)
        if repo.lfs:
            self.send_header("X-Linked-Etag", f'"{etag}"')
            self.send_header("X-Linked-Size", str(len(repo.files[path])))

    def _serve_file(self, method: str, repo_id: str, path: str) -> None:
        hub = self.hub
        repo = hub.repos[repo_id]
        data = repo.files[path]
        f = hub.faults
        if f.status and hub.take("status_times"):
            return self._error(f.status, "", "injected failure")
        start, end = 0, len(data) - 1
        rng = self.headers.get("Range")
        partial = False
        if rng and not f.ignore_range:
            m = re.match(r"bytes=(\d+)-(\d*)$", rng)
            if m:
                start = int(m[1])
                end = int(m[2]) if m[2] else len(data) - 1
                if f.max_range_bytes:
                    end = min(end, start + f.max_range_bytes - 1)
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                partial = True
        self.send_response(206 if partial else 200)
        self._file_headers(repo, path)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(end - start + 1))
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(data)}")
        self.end_headers()
        if method == "HEAD":
            return
        if path in repo.on_disk and self._no_body_faults():
            return self._sendfile(repo.on_disk[path], start, end + 1)
        self._send_body(data, start, end + 1)

    def _no_body_faults(self) -> bool:
        f = self.hub.faults
        return (f.drop_after, f.stall_after, f.corrupt_at, f.pause_at, f.rate_limit_bps) == (
            None,
        ) * 5

    def _sendfile(self, path: Path, start: int, stop: int) -> None:
        """Zero-copy, as a real server would: the benchmark measures the client, not us."""
        try:
            with path.open("rb") as fh:
                sent = self.connection.sendfile(fh, start, stop - start)
        except OSError:
            self.close_connection = True
            return
        with self.hub.lock:
            self.hub.stats.body_bytes += sent

    def _send_body(self, data: bytes, start: int, stop: int) -> None:
        hub, f = self.hub, self.hub.faults
        view = memoryview(data)
        drop = f.drop_after if f.drop_after is not None and hub.take("drop_times") else None
        stall = f.stall_after if f.stall_after is not None and hub.take("stall_times") else None
        pos, sent = start, 0
        chunk = 1 << 20
        t0 = time.monotonic()
        with hub.lock:
            hub.stats.sending += 1
        try:
            while pos < stop:
                n = min(chunk, stop - pos)
                if drop is not None:
                    n = min(n, drop - sent)
                if stall is not None:
                    n = min(n, max(0, stall - sent))
                if f.pause_at is not None and pos < f.pause_at:
                    n = min(n, f.pause_at - pos)
                if f.rate_limit_bps:
                    n = min(n, max(1, f.rate_limit_bps // 20))
                if n > 0:
                    block = view[pos : pos + n]
                    if f.corrupt_at is not None and pos <= f.corrupt_at < pos + n:
                        b = bytearray(block)
                        b[f.corrupt_at - pos] ^= 0xFF
                        block = memoryview(bytes(b))
                    self.wfile.write(block)
                    pos += n
                    sent += n
                    with hub.lock:
                        hub.stats.body_bytes += n
                if f.rate_limit_bps:
                    ahead = sent / f.rate_limit_bps - (time.monotonic() - t0)
                    if ahead > 0:
                        time.sleep(ahead)
                if drop is not None and sent >= drop:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if stall is not None and sent >= stall:
                    self.wfile.flush()
                    time.sleep(f.stall_s)
                    stall = None
                if f.pause_at is not None and pos == f.pause_at and pos < stop:
                    self.wfile.flush()
                    hub.paused.set()
                    hub.release.wait(30)
                    hub.release.clear()
                    if f.abort_after_pause:
                        raise ConnectionAbortedError("the test killed the client")
        except OSError:  # the client went away
            self.close_connection = True
        finally:
            with hub.lock:
                hub.stats.sending -= 1

    # --- plain answers ----------------------------------------------------------------------

    def _json(self, obj: object) -> None:
        body = json.dumps(obj).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, code: str, message: str) -> None:
        body = json.dumps({"error": message}).encode()
        self.send_response(status)
        if code:
            self.send_header("X-Error-Code", code)
        self.send_header("X-Error-Message", message)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
