"""Offline by default: start-up, the models commands and a chat session make no connection.

The guard (tests/core/library/netguard.py) records every connection attempt in this process
and, through a sitecustomize module, in child processes such as the inference worker. The
first tests show it catches real attempts, so that the "nothing recorded" results mean
something.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.library import netguard
from tests.core.library.ggufgen import write_gptoss_like
from tests.helpers import PROJECT_MODELS, ROOT, project_model


def _listener() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s


def test_the_guard_sees_a_connection_in_this_process():
    with _listener() as srv, netguard.guard() as seen:
        socket.create_connection(srv.getsockname(), timeout=2).close()
    assert any(e.startswith("socket.connect") for e in seen)


def test_the_guard_sees_a_connection_in_a_child_process(tmp_path):
    env, log = netguard.child_env(tmp_path / "guard")
    with _listener() as srv:
        code = f"import socket; socket.create_connection({srv.getsockname()!r}, timeout=2).close()"
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert any("socket.connect" in line for line in netguard.logged(log))
    assert len(list(log.parent.glob("active-*"))) == 1


def test_startup_and_models_commands_make_no_connection(tmp_path):
    env, log = netguard.child_env(tmp_path / "guard")
    env["GPTOSS_HOME"] = str(tmp_path / "home")
    env.pop("HF_HUB_OFFLINE", None)  # offline must not depend on this being set
    model = write_gptoss_like(tmp_path / "m.gguf")
    startup = (
        "from gptoss_desktop.core.paths import AppPaths\n"
        "from gptoss_desktop.core.library import Catalog, InstalledModels, ModelShape, detect_memory, estimate_fit\n"
        "p = AppPaths.from_env().ensure()\n"
        "cat = Catalog.load(p.config_dir)\n"
        "InstalledModels(p.models_dir).list()\n"
        "mem = detect_memory()\n"
        "[estimate_fit(ModelShape.from_catalog(e), mem) for e in cat.entries]\n"
        "import gptoss_desktop.core.library.hub, gptoss_desktop.core.library.download\n"
    )
    runs = [
        [sys.executable, "-c", startup],
        [sys.executable, "-m", "gptoss_desktop", "models", "list", "--json"],
        [sys.executable, "-m", "gptoss_desktop", "models", "info", str(model)],
        [sys.executable, "-m", "gptoss_desktop", "models", "import", str(model), "--link"],
        [sys.executable, "-m", "gptoss_desktop", "models", "verify", "m"],
    ]
    for cmd in runs:
        done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
    assert netguard.logged(log) == []


def _chat_model() -> Path:
    harmony = PROJECT_MODELS / "tiny-harmony.gguf"
    return harmony if harmony.is_file() else project_model("tiny-gptoss-random.gguf")


def test_a_chat_session_makes_no_connection_at_all(tmp_path):
    pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")
    from gptoss_desktop.core.engine import EngineClient, LoadOptions, SamplingOptions
    from gptoss_desktop.core.harmony import ChatSession

    env, log = netguard.child_env(tmp_path / "guard")
    with netguard.guard() as seen:
        client = EngineClient.start(
            _chat_model(), LoadOptions(n_ctx=1024, n_threads=1, seed=1), env=env
        )
        try:
            session = ChatSession(client, sampling=SamplingOptions(temperature=0.0), max_tokens=24)
            first = session.send("Hello, who are you?")
            second = session.send("And what can you do?")
            held = netguard.inet_sockets(client.pid) if sys.platform.startswith("linux") else []
            worker_guarded = netguard.active_in(log, client.pid)
        finally:
            client.close()
    assert worker_guarded  # the worker ran with the guard installed
    assert first.messages and second.messages  # the model really generated
    assert seen == []  # nothing in this process
    assert netguard.logged(log) == []  # nothing in the worker, as Python sees it
    assert held == []  # and no internet socket open in the worker, as the kernel sees it
