"""``gptoss-desktop --self-test``: prove an installed (or frozen) app can do its job here.

It loads the bundled demo model in a real worker process and generates a few tokens, starts
the local API server on loopback and has it answer /v1/models and a chat completion,
checks the package's data files are there (the model catalog), the data folder is writable, asks the OS keychain a question (an absent keychain is
reported, not a failure), and has Qt create its application object and paint a widget with
the platform plugin in use (offscreen, xcb, wayland, cocoa, windows). The Qt part runs in a
child process, because a Qt platform plugin that cannot load aborts the process.

Exactly one line comes out: ``gptoss-desktop self-test OK: ...`` on stdout with exit status
0, or ``gptoss-desktop self-test FAILED: ...`` on stderr with exit status 1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gptoss_desktop.core.display import no_display
from gptoss_desktop.core.errors import GptossError, ModelFileError
from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.resources import DEMO_MODEL_FILE, Resources

STAGE_ENV = "GPTOSS_SELF_TEST_STAGE"  # set in the child that runs only the Qt stage
DEMO_MODEL = DEMO_MODEL_FILE
GENERATE_TOKENS = 8
KEYCHAIN_TIMEOUT_S = 10.0
QT_TIMEOUT_S = 60.0
MODEL_LOAD_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    summary: str


# --- where things are ---------------------------------------------------------------------------
def resources_dir() -> Path:
    """The resources/ folder (the bundle's when frozen; see gptoss_desktop.resources)."""
    return Resources.locate().root


def demo_model_dirs() -> list[Path]:
    """Folders searched for the demo model, best first."""
    dirs = [resources_dir() / "models"]
    if not getattr(sys, "frozen", False):
        dirs.append(Path(__file__).resolve().parents[2] / "tests" / "data" / "models")
    return dirs


def find_demo_model(dirs: list[Path]) -> Path:
    """``tiny-harmony.gguf`` from the first folder that has it, else the smallest GGUF there."""
    for folder in dirs:
        if (folder / DEMO_MODEL).is_file():
            return folder / DEMO_MODEL
        candidates = sorted(folder.glob("*.gguf"), key=lambda p: (p.stat().st_size, p.name))
        if candidates:
            return candidates[0]
    searched = ", ".join(str(d) for d in dirs)
    raise ModelFileError(
        DEMO_MODEL, f"no bundled demo model found (searched {searched}); reinstall the app"
    )


def app_command() -> list[str]:
    """How to start this app again as a child process, frozen or not."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "gptoss_desktop"]


# --- the checks ---------------------------------------------------------------------------------
def check_generation(model: Path) -> str:
    from gptoss_desktop.core.engine import (
        EngineClient,
        GenerateRequest,
        LoadOptions,
        SamplingOptions,
    )

    started = time.monotonic()
    options = LoadOptions(n_ctx=256, n_threads=min(4, os.cpu_count() or 1), n_batch=64)
    with EngineClient.start(model, options, load_timeout=MODEL_LOAD_TIMEOUT_S) as client:
        backend = client.backend()
        request = GenerateRequest(
            prompt_text="Once upon a time",
            max_tokens=GENERATE_TOKENS,
            stop_tokens=[],  # no stop token: exactly GENERATE_TOKENS must come back
            sampling=SamplingOptions(temperature=0.0, seed=1),
        )
        generation = client.generate(request)
        for _batch in generation:
            pass
        metrics = generation.wait()
        variant = cpu_variant(mapped_files(client.pid))
    if metrics.completion_tokens != GENERATE_TOKENS or len(generation.tokens) != GENERATE_TOKENS:
        raise GptossError(
            f"asked {model.name} for {GENERATE_TOKENS} tokens, got {len(generation.tokens)} "
            f"(stop reason {metrics.stop_reason}); reinstall the app"
        )
    took = time.monotonic() - started
    where = f"{backend.backend} ({variant} variant)" if variant else backend.backend
    return (
        f"{model.name} generated {GENERATE_TOKENS} tokens on {where} "
        f"(llama.cpp binding {backend.llama_cpp_version}, {took:.1f} s)"
    )


def check_api(model: Path) -> str:
    """The local API server starts on loopback, answers /v1/models and a chat completion."""
    import json
    import secrets
    import urllib.request

    from gptoss_desktop.api.server import ApiServer, ServerConfig
    from gptoss_desktop.core.api.service import ApiService, EngineHost
    from gptoss_desktop.core.engine import EngineClient, LoadOptions

    options = LoadOptions(n_ctx=256, n_threads=1, n_batch=64)
    key = "sk-self-test-" + secrets.token_hex(8)
    host = EngineHost()
    client = EngineClient.start(model, options, load_timeout=MODEL_LOAD_TIMEOUT_S)
    host.set_loaded(model.stem, model, client, owned=True)
    server = ApiServer(ApiService(host), ServerConfig(port=0, api_key=key))
    try:
        url = server.start()

        def call(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            data = json.dumps(body).encode() if body is not None else None
            request = urllib.request.Request(url + path, data=data)
            request.add_header("Authorization", f"Bearer {key}")
            request.add_header("Content-Type", "application/json")
            with urllib.request.urlopen(request, timeout=60) as reply:
                return dict(json.loads(reply.read()))

        models = call("/v1/models")["data"]
        ids = [m["id"] for m in models if m.get("loaded")]
        if ids != [model.stem]:
            raise GptossError(f"the local API listed {ids} instead of {model.stem}")
        body = {"model": model.stem, "max_tokens": 4, "temperature": 0,
                "messages": [{"role": "user", "content": "Once upon a time"}]}  # fmt: skip
        usage = call("/v1/chat/completions", body)["usage"]
        tokens = int(usage["completion_tokens"])
        if not 1 <= tokens <= 4:
            raise GptossError(f"the local API answered with {tokens} tokens")
    finally:
        server.stop()
        host.close()
    return f"local API answered on {url} ({tokens} tokens)"


def cpu_variant(mapped_files: Iterable[str]) -> str | None:
    """Which CPU backend module ggml chose (GGML_CPU_ALL_VARIANTS builds), from mapped files."""
    for path in mapped_files:
        found = re.search(r"ggml-cpu-([A-Za-z0-9_]+)\.(so|dll|dylib)$", path)
        if found:
            return found.group(1)
    return None


def mapped_files(pid: int) -> list[str]:
    """Files a process has mapped (Linux /proc; empty elsewhere)."""
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
            return [line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6]
    except OSError:
        return []


def check_data_folder(paths: AppPaths) -> str:
    paths.ensure()
    probe = paths.data_dir / f".self-test-{os.getpid()}"
    payload = os.urandom(64)
    try:
        with open(probe, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        if probe.read_bytes() != payload:
            raise GptossError(f"data folder {paths.data_dir} returned other bytes than written")
    finally:
        probe.unlink(missing_ok=True)
    return f"data folder writable ({paths.data_dir})"


def check_package_data() -> str:
    """The package's own data files made it into this install (the model catalog)."""
    from gptoss_desktop.core.library.catalog import BUILTIN_CATALOG, Catalog

    if not BUILTIN_CATALOG.is_file():
        raise GptossError(f"the model catalog {BUILTIN_CATALOG} is missing; reinstall the app")
    entries = Catalog.load().entries
    if not entries:
        raise GptossError(f"the model catalog {BUILTIN_CATALOG} lists no models; reinstall the app")
    return f"model catalog ({len(entries)} models)"


def _ask_keychain() -> str:
    import keyring
    from keyring.errors import NoKeyringError

    backend = keyring.get_keyring()
    name = type(backend).__name__
    module = type(backend).__module__.rsplit(".", 1)[-1]
    try:
        backend.get_password("gptoss-desktop", "self-test-probe")
    except NoKeyringError:
        return "keychain absent (no OS keychain service; a Hugging Face token cannot be saved)"
    return f"keychain answers ({module}.{name})"


def check_keychain(timeout: float = KEYCHAIN_TIMEOUT_S) -> str:
    """Ask the keychain with a deadline: a locked Secret Service can block forever."""
    result: list[str] = []
    error: list[BaseException] = []

    def ask() -> None:
        try:
            result.append(_ask_keychain())
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=ask, name="self-test-keychain", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise GptossError(
            f"the OS keychain did not answer within {timeout:.0f} s; unlock it or restart the session"
        )
    if error:
        exc = error[0]
        raise GptossError(f"the OS keychain failed: {type(exc).__name__}: {exc}".strip())
    return result[0]


def check_qt(timeout: float = QT_TIMEOUT_S) -> str:
    """Run the Qt stage in a child (a missing platform plugin aborts the process).

    With no display (a server, a container, CI) the child uses Qt's offscreen plugin, so
    the check still proves Qt's libraries load and paint."""
    env = dict(os.environ, **{STAGE_ENV: "qt"})
    headless = no_display(env)
    if headless:
        env["QT_QPA_PLATFORM"] = "offscreen"
    try:
        proc = subprocess.run(
            [*app_command(), "--self-test"],
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        raise GptossError(f"Qt did not start within {timeout:.0f} s") from exc
    lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode == 0 and lines and lines[-1].startswith("qt ok:"):
        note = " (no display found, so offscreen)" if headless else ""
        return "Qt " + lines[-1][len("qt ok:") :].strip() + note
    err = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
    reason = _qt_failure_reason(err) or f"exit status {proc.returncode}"
    raise GptossError(f"Qt could not start: {reason}")


def _qt_failure_reason(lines: list[str]) -> str:
    for key in ("the Qt platform plugin", "could not connect to display", "qt stage"):
        for line in lines:
            if key.lower() in line.lower():
                return line
    return lines[-1] if lines else ""


def run_qt_stage() -> int:
    """The child's part: create the application, paint a widget, render the app icon."""
    try:
        from gptoss_desktop.ui.qt_probe import probe_qt

        print(f"qt ok: {probe_qt(resources_dir() / 'icons' / 'gptoss-desktop.svg')}", flush=True)
        return 0
    except Exception as exc:
        print(f"qt stage: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        return 1


# --- the runner ---------------------------------------------------------------------------------
def _run(name: str, check: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, check())
    except GptossError as exc:
        return CheckResult(name, False, exc.message)
    except Exception as exc:  # the self-test reports everything, never a traceback
        return CheckResult(name, False, f"{type(exc).__name__}: {exc}")


def collect_checks(model_dirs: list[Path] | None = None) -> list[CheckResult]:
    dirs = demo_model_dirs() if model_dirs is None else model_dirs
    return [
        _run("model", lambda: check_generation(find_demo_model(dirs))),
        _run("data", lambda: check_data_folder(AppPaths.from_env())),
        _run("catalog", check_package_data),
        _run("api", lambda: check_api(find_demo_model(dirs))),
        _run("keychain", check_keychain),
        _run("qt", check_qt),
    ]


def format_report(results: list[CheckResult]) -> tuple[bool, str]:
    failed = [r for r in results if not r.ok]
    if failed:
        return False, "gptoss-desktop self-test FAILED: " + "; ".join(
            f"{r.name}: {r.summary}" for r in failed
        )
    return True, "gptoss-desktop self-test OK: " + "; ".join(r.summary for r in results)


def run_self_test(model_dirs: list[Path] | None = None) -> int:
    if os.environ.get(STAGE_ENV) == "qt":
        return run_qt_stage()
    ok, line = format_report(collect_checks(model_dirs))
    stream = sys.stdout if ok else sys.stderr
    if stream is not None:  # a windowed Windows build has no console streams
        print(line, file=stream, flush=True)
    return 0 if ok else 1
