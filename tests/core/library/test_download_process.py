"""The real command, in a real process: killed -9 mid-download, and stopped by a full disk.

``python -m gptoss_desktop models download`` runs against the loopback hub (HF_ENDPOINT) with
a temporary GPTOSS_HOME. The server pauses at chosen byte offsets so each kill lands exactly
there; a file-size limit (RLIMIT_FSIZE, which makes write() fail with EFBIG) stands in for a
full disk, so the test needs no root and no special filesystem.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.core.library.ggufgen import write_gptoss_like
from tests.core.library.hubserver import HubServer, Repo
from tests.helpers import ROOT

REPO = "test-org/kill-GGUF"
FILE = "kill-test.gguf"

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="kill -9 and RLIMIT_FSIZE are POSIX"
)


def _env(home: Path, endpoint: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GPTOSS_HOME=str(home),
        HF_ENDPOINT=endpoint,
        HF_HUB_OFFLINE="0",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        PYTHONPATH=str(ROOT),
    )
    env.pop("HF_TOKEN", None)
    return env


def _command() -> list[str]:
    return [sys.executable, "-m", "gptoss_desktop", "models", "download", REPO, FILE]


@pytest.fixture
def big_file(tmp_path: Path) -> bytes:
    head = write_gptoss_like(tmp_path / "head.gguf").read_bytes()
    return head + random.Random(7).randbytes(16 * 1024 * 1024)


def test_kill_9_at_ten_offsets_then_resume(tmp_path: Path, big_file: bytes) -> None:
    home = tmp_path / "home"
    size = len(big_file)
    rng = random.Random(11)
    offsets = sorted(rng.sample(range(size // 20, size - size // 20, 4096), 10))
    with HubServer({REPO: Repo({FILE: big_file})}) as server:
        env = _env(home, server.endpoint)
        server.faults.abort_after_pause = True  # bytes count only if a client could get them
        for offset in offsets:
            server.paused.clear()
            server.faults.pause_at = offset
            proc = subprocess.Popen(
                _command(), env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            try:
                assert server.paused.wait(60), (
                    proc.stderr.read().decode() if proc.poll() is not None else ""
                )
                _settle(home / "models" / ".partial", offset)  # the download is now at `offset`
                os.kill(proc.pid, signal.SIGKILL)
                assert proc.wait(10) == -signal.SIGKILL
            finally:
                if proc.poll() is None:
                    proc.kill()
                proc.communicate()
            server.faults.pause_at = None
            server.release.set()
            server.wait_idle()
            partials = list((home / "models" / ".partial").glob("*.partial"))
            assert len(partials) == 1 and 0 < partials[0].stat().st_size <= offset

        done = subprocess.run(_command(), env=env, cwd=ROOT, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        resolve_ranges = [r for _, p, r in server.stats.requests if "/resolve/" in p]
        fetched = server.stats.body_bytes

    target = home / "models" / "hf" / "test-org" / "kill-GGUF" / FILE
    assert hashlib.sha256(target.read_bytes()).hexdigest() == hashlib.sha256(big_file).hexdigest()
    assert fetched <= 1.1 * size, f"fetched {fetched} bytes for a {size}-byte file"
    # every restart resumed with a Range request; nothing was left behind
    assert len(resolve_ranges) == 11 and resolve_ranges[0] == ""
    assert all(r.startswith("bytes=") and r != "bytes=0-" for r in resolve_ranges[1:])
    assert list((home / "models" / ".partial").iterdir()) == []
    assert not (home / "models" / ".quarantine").exists()
    assert [p.name for p in target.parent.iterdir()] == [FILE]


def _settle(partial_dir: Path, offset: int, timeout: float = 10.0) -> None:
    """Wait until the client has written what the server sent, or stopped writing for 0.2 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        sizes = [p.stat().st_size for p in partial_dir.glob("*.partial")]
        size = max(sizes, default=0)
        if size >= offset:
            return
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since > 0.2:
            return
        time.sleep(0.005)


def _limit_file_size(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        import resource

        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return apply


def test_disk_full_midway_keeps_the_partial_and_resumes_later(
    tmp_path: Path, big_file: bytes
) -> None:
    home = tmp_path / "home"
    limit = 5 * 1024 * 1024
    with HubServer({REPO: Repo({FILE: big_file})}) as server:
        env = _env(home, server.endpoint)
        full = subprocess.run(
            _command(),
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
            preexec_fn=_limit_file_size(limit),
        )
        err = full.stderr.decode()
        assert full.returncode == 1
        assert (
            "error: the disk is full: 5.0 MiB of 16.2 MiB of kill-test.gguf saved and kept; free"
            in err
        )
        assert "Traceback" not in err
        (partial,) = (home / "models" / ".partial").glob("*.partial")
        assert partial.stat().st_size == limit

        sent = server.stats.body_bytes
        again = subprocess.run(_command(), env=env, cwd=ROOT, capture_output=True, timeout=120)
        assert again.returncode == 0, again.stderr.decode()
        assert server.stats.body_bytes - sent == len(big_file) - limit  # resumed, not restarted
    target = home / "models" / "hf" / "test-org" / "kill-GGUF" / FILE
    assert target.read_bytes() == big_file
