"""``gptoss-desktop serve`` as a user runs it: one line once it answers, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.responses import ResponseStore, StoredResponse
from tests.helpers import ROOT, project_model

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")


def start(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "GPTOSS_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "gptoss_desktop", "serve", "--model",
         str(project_model("tiny-harmony.gguf")), "--port", "0", "--threads", "1", *args],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_serve_prints_one_line_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = start(tmp_path)
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:") and line.endswith("\n")
        url = line.split()[-1]
        port = int(url.rsplit(":", 1)[1])
        assert port > 0
        models = httpx.get(url + "/v1/models", timeout=10).json()
        assert models["data"][0]["id"] == "tiny-harmony" and models["data"][0]["loaded"]
        r = httpx.post(
            url + "/v1/chat/completions",
            json={"model": "tiny-harmony", "temperature": 0,
                  "messages": [{"role": "user", "content": "Say hello to Grace."}]},
            timeout=30,
        )  # fmt: skip
        assert r.json()["choices"][0]["message"]["content"] == "Hello, Grace!"
        with httpx.stream(
            "POST", url + "/v1/chat/completions",
            json={"model": "tiny-harmony", "stream": True, "max_tokens": 1000,
                  "messages": [{"role": "user", "content": "Say hello to Heidi."}]},
            timeout=30,
        ) as stream:  # fmt: skip
            next(stream.iter_lines())
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rest, err = proc.communicate()
    assert rest == ""  # exactly one line on stdout
    assert "Traceback" not in err
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/v1/models", timeout=5)


def test_serve_on_another_interface_warns_and_requires_a_key(tmp_path: Path) -> None:
    proc = start(tmp_path, "--host", "0.0.0.0")
    try:
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.split()[-1]
        r = httpx.get(url + "/v1/models", timeout=10)
        assert r.status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        err = proc.stderr.read()
        assert "warning: serving on 0.0.0.0" in err
        key = err.split("API key (")[1].split("): ")[1].split()[0]
        assert key.startswith("sk-local-")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_refuses_a_busy_port_with_one_line(tmp_path: Path) -> None:
    first = start(tmp_path)
    try:
        url = first.stdout.readline().split()[-1]
        port = url.rsplit(":", 1)[1]
        env = {**os.environ, "GPTOSS_HOME": str(tmp_path)}
        proc = subprocess.run(
            [sys.executable, "-m", "gptoss_desktop", "serve", "--model",
             str(project_model("tiny-harmony.gguf")), "--port", port],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 1 and proc.stdout == ""
        assert proc.stderr.startswith("error: Could not listen on 127.0.0.1:" + port)
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(15)


def test_stored_responses_expire_and_are_forgotten(tmp_path: Path) -> None:
    home = tmp_path / "home"
    from gptoss_desktop.core.paths import AppPaths

    paths = AppPaths.under(home).ensure()
    db = Database(paths.database)
    store = ResponseStore(db)
    store.put(StoredResponse("resp_old", 1000.0, "m", [], {}, {}))
    store.put(
        StoredResponse(
            "resp_new", 9e9, "m", [{"role": "user", "text": "hi"}], {"c": "f"}, {"id": "resp_new"}
        )
    )
    assert store.expire(now=1000.0 + store.max_age_s + 1) == 1
    assert store.get("resp_old") is None
    assert store.get("resp_new").call_names == {"c": "f"}
    db.close()
    proc = subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", "serve", "--forget-responses"],
        cwd=ROOT, env={**os.environ, "GPTOSS_HOME": str(home)}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "forgot 1 stored responses" in proc.stderr
    db = Database(paths.database)
    assert ResponseStore(db).count() == 0
    db.close()
