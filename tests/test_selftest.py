"""``gptoss-desktop --self-test`` unfrozen: the real worker, the real Qt plugin, one line out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import keyring
import pytest
from jaraco.classes import properties
from keyring.backend import KeyringBackend

from gptoss_desktop.cli import selftest
from tests.helpers import ROOT

pytestmark = pytest.mark.timeout(120)


def test_cli_flag_runs_every_check_and_prints_one_ok_line(gptoss_home: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GPTOSS_HOME=str(gptoss_home))
    proc = subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", "--self-test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout
    line = lines[0]
    assert line.startswith("gptoss-desktop self-test OK: ")
    assert f"generated {selftest.GENERATE_TOKENS} tokens on CPU" in line
    assert f"data folder writable ({gptoss_home.resolve() / 'data'})" in line
    assert "keychain" in line
    assert "model catalog (" in line
    assert re.search(r"local API answered on http://127\.0\.0\.1:\d+ \([1-4] tokens\)", line)
    assert "Qt offscreen platform" in line
    assert "SVG icon rendered" in line
    assert proc.stderr == ""
    # The probe file is gone again.
    assert [p.name for p in (gptoss_home / "data").iterdir()] == []


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="X11/Wayland only")
def test_no_display_and_no_platform_falls_back_to_offscreen(gptoss_home: Path) -> None:
    """Issue 16 item 13: headless, with nothing set, the self-test passes (offscreen)."""
    env = dict(os.environ, GPTOSS_HOME=str(gptoss_home))
    for key in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        env.pop(key, None)
    proc = subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", "--self-test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith("gptoss-desktop self-test OK: ")
    assert "Qt offscreen platform" in line and "no display found, so offscreen" in line
    from gptoss_desktop.core.display import no_display

    assert no_display({}) and not no_display({"DISPLAY": ":0"})
    assert not no_display({"QT_QPA_PLATFORM": "xcb"})


def test_the_demo_model_is_found_where_the_bundle_puts_it(tmp_path: Path) -> None:
    models = tmp_path / "resources" / "models"
    models.mkdir(parents=True)
    (models / "big.gguf").write_bytes(b"GGUF" + b"\0" * 200)
    (models / "small.gguf").write_bytes(b"GGUF" + b"\0" * 20)
    assert selftest.find_demo_model([models]).name == "small.gguf"
    (models / selftest.DEMO_MODEL).write_bytes(b"GGUF" + b"\0" * 500)
    assert selftest.find_demo_model([tmp_path / "missing", models]).name == selftest.DEMO_MODEL


def test_no_model_fails_with_the_reason(
    tmp_path: Path, gptoss_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert selftest.run_self_test([tmp_path / "empty"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.splitlines()) == 1
    assert err.startswith("gptoss-desktop self-test FAILED: model: tiny-harmony.gguf: no bundled")
    assert str(tmp_path / "empty") in err
    # Only the failed checks are named (the API check needs the model too); the others passed.
    assert "api: tiny-harmony.gguf: no bundled" in err
    assert "data:" not in err and "keychain:" not in err and "qt:" not in err


def test_unwritable_data_folder_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("GPTOSS_HOME", str(blocker / "home"))
    result = selftest._run("data", lambda: selftest.check_data_folder(selftest.AppPaths.from_env()))
    assert not result.ok
    assert result.summary.startswith(("NotADirectoryError", "FileExistsError"))
    ok, line = selftest.format_report([result])
    assert not ok and line.startswith("gptoss-desktop self-test FAILED: data: ")


def test_a_qt_plugin_that_cannot_load_is_reported_not_an_abort(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")
    with pytest.raises(selftest.GptossError) as info:
        selftest.check_qt()
    assert "Qt could not start" in info.value.message
    assert "no-such-platform" in info.value.message


class _BlockingKeychain(KeyringBackend):
    """A keychain that never answers, like a locked Secret Service waiting for a prompt.

    Not viable for keyring's own backend detection (its priority raises), so it is used only
    where this test sets it, never picked up by other tests in the same process.
    """

    @properties.classproperty
    def priority(cls) -> float:
        raise RuntimeError("used only when set explicitly")

    def get_password(self, service: str, username: str) -> str | None:
        time.sleep(30)
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise NotImplementedError

    def delete_password(self, service: str, username: str) -> None:
        raise NotImplementedError


def test_keychain_absent_is_reported_and_a_hung_one_fails_in_time() -> None:
    from keyring.backends import fail

    previous = keyring.get_keyring()
    try:
        keyring.set_keyring(fail.Keyring())
        assert selftest.check_keychain().startswith("keychain absent")
        keyring.set_keyring(_BlockingKeychain())
        started = time.monotonic()
        with pytest.raises(selftest.GptossError, match="did not answer within 1 s"):
            selftest.check_keychain(timeout=1.0)
        assert time.monotonic() - started < 5
    finally:
        keyring.set_keyring(previous)


def test_the_cpu_variant_ggml_chose_is_read_from_the_worker_mappings() -> None:
    # Paths as /proc/PID/maps shows them when a GGML_CPU_ALL_VARIANTS build picked a module.
    maps = [
        "/opt/app/_internal/libpython3.11.so.1.0",
        "/opt/app/_internal/llama_cpp/lib/libggml-cpu-haswell.so",
    ]
    assert selftest.cpu_variant(maps) == "haswell"
    assert selftest.cpu_variant([r"C:\app\_internal\llama_cpp\lib\ggml-cpu-zen4.dll"]) == "zen4"
    assert selftest.cpu_variant(maps[:1]) is None  # CPU code built into libggml
    if sys.platform.startswith("linux"):
        assert any("libpython" in p or "python3" in p for p in selftest.mapped_files(os.getpid()))
    assert selftest.mapped_files(2**22 + 12345) == []  # no such process
