"""Crash isolation: whatever happens to a worker, the app process keeps running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gptoss_desktop.core.engine import EngineClient, GenerateRequest, LoadOptions, SamplingOptions
from gptoss_desktop.core.errors import ModelFileError, WorkerCrashed, WorkerTimeout
from tests.helpers import ROOT

OPTS = LoadOptions(n_ctx=2048, n_threads=1)


def _works(path: Path) -> None:
    with EngineClient.start(path, OPTS) as fresh:
        gen = fresh.generate(
            GenerateRequest(
                prompt_text="Once upon a time",
                max_tokens=8,
                sampling=SamplingOptions(temperature=0),
            )
        )
        assert gen.wait().completion_tokens == 8


def test_kill_9_mid_generation(stories_path: Path) -> None:
    client = EngineClient.start(stories_path, OPTS)
    gen = client.generate(
        GenerateRequest(
            prompt_text="Once upon a time",
            max_tokens=100_000,
            sampling=SamplingOptions(temperature=1.0),
        )
    )
    it = iter(gen)
    next(it)
    os.kill(client.pid, signal.SIGKILL)
    with pytest.raises(WorkerCrashed) as info:
        for _ in it:
            pass
    assert info.value.returncode == -signal.SIGKILL
    assert "SIGKILL" in info.value.message
    assert not client.alive
    client.close()
    _works(stories_path)


@pytest.mark.parametrize(
    ("how", "code", "needle"),
    [
        ("segfault", -signal.SIGSEGV, "segmentation fault"),
        ("abort", -signal.SIGABRT, "GGML_ASSERT"),
        ("exit", 3, "exited with status 3"),
    ],
)
def test_worker_death_is_a_typed_error(
    stories_path: Path, hooked_env: dict[str, str], how: str, code: int, needle: str
) -> None:
    client = EngineClient.start(stories_path, OPTS, env=hooked_env)
    with pytest.raises(WorkerCrashed) as info:
        client.debug(how)
    assert info.value.returncode == code
    assert needle in info.value.message
    if how == "abort":
        assert any("GGML_ASSERT" in line for line in info.value.stderr_tail)
    client.close()
    _works(stories_path)


def test_hung_worker_is_killed_after_timeout(
    stories_path: Path, hooked_env: dict[str, str]
) -> None:
    client = EngineClient.start(stories_path, OPTS, env=hooked_env)
    pid = client.pid
    with pytest.raises(WorkerTimeout):
        client.debug("hang", timeout=1.0)
    # the process is really gone
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(pid, 0)
            import time

            time.sleep(0.02)
    client.close()
    _works(stories_path)


def _bad_files(tmp: Path, good: Path) -> dict[str, Path]:
    data = good.read_bytes()
    files = {
        "missing": tmp / "missing.gguf",
        "folder": tmp,
        "empty": tmp / "empty.gguf",
        "random": tmp / "random.gguf",
        "wrong_magic": tmp / "magic.gguf",
        "truncated_header": tmp / "short.gguf",
        "truncated_tensors": tmp / "cut.gguf",
        "garbage_after_header": tmp / "garbage.gguf",
    }
    files["empty"].write_bytes(b"")
    files["random"].write_bytes(os.urandom(50_000))
    files["wrong_magic"].write_bytes(b"GGML" + data[4:])
    files["truncated_header"].write_bytes(data[:10])
    files["truncated_tensors"].write_bytes(data[: len(data) // 2])
    files["garbage_after_header"].write_bytes(data[:24] + os.urandom(4000))
    return files


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "folder",
        "empty",
        "random",
        "wrong_magic",
        "truncated_header",
        "truncated_tensors",
        "garbage_after_header",
    ],
)
def test_bad_model_file_gives_clear_error(tmp_path: Path, stories_path: Path, kind: str) -> None:
    path = _bad_files(tmp_path, stories_path)[kind]
    with pytest.raises(ModelFileError) as info:
        EngineClient.start(path, OPTS, load_timeout=30)
    message = info.value.message
    assert str(path.name) in message and "\n" not in message
    assert len(message) < 200


@pytest.mark.parametrize("kind", ["random", "truncated_tensors", "garbage_after_header", "missing"])
def test_cli_bad_model_one_line_no_traceback(tmp_path: Path, stories_path: Path, kind: str) -> None:
    path = _bad_files(tmp_path, stories_path)[kind]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gptoss_desktop",
            "generate",
            "--model",
            str(path),
            "--prompt",
            "hi",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and path.name in lines[0]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_closing_the_pipes_under_the_stderr_reader_raises_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Closing a worker (close_pipes) while its stderr reader thread is still reading must not
    end that thread with an exception (it did: "ValueError: I/O operation on closed file")."""
    import threading
    import time

    from gptoss_desktop.core.engine import process

    # A child that writes stderr lines without pause, so the reader is always mid-loop.
    chatty = [sys.executable, "-c", "import sys\nwhile True: sys.stderr.write('line\\n')"]
    monkeypatch.setattr(process, "worker_command", lambda: chatty)
    raised: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: raised.append(args.exc_value))
    for _ in range(5):
        worker = process.WorkerProcess()
        deadline = time.monotonic() + 10
        while not worker.stderr_tail and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.stderr_tail  # the reader is reading
        worker.close_pipes()
        worker.kill()
        worker.drain_stderr(timeout=5.0)
        assert not worker._err_thread.is_alive()
    assert raised == []
