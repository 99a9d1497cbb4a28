"""Issue #17 item 7: a FIFO (or device) named like a model never hangs a command.

Each command runs in its own process with a timeout: a hang shows as a timeout, and the
process must end well within it with a one-line error naming the FIFO.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.engine.modelfile import check_model_file
from gptoss_desktop.core.errors import ModelFileError
from gptoss_desktop.core.library.gguf_info import read_gguf_info
from gptoss_desktop.core.library.installed import InstalledModels

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    os.mkfifo(path)
    return path


def _run(args: list[str], home: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = dict(os.environ, GPTOSS_HOME=str(home), HF_HUB_OFFLINE="1")
    t0 = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,  # a hang fails here instead of freezing the suite
        stdin=subprocess.DEVNULL,
    )
    return out, time.monotonic() - t0


@pytest.mark.parametrize(
    "command",
    [
        ["models", "info", "{fifo}"],
        ["models", "info", "{fifo}", "--json"],
        ["models", "import", "{fifo}"],
        ["models", "verify", "{fifo}"],
        ["generate", "--model", "{fifo}", "--prompt", "hello"],
    ],
)
def test_cli_commands_return_promptly_on_a_fifo(command, fifo, tmp_path):
    args = [a.replace("{fifo}", str(fifo)) for a in command]
    out, took = _run(args, tmp_path / "home")
    assert out.returncode != 0
    assert took < 30, f"{command} took {took:.1f} s"
    last = out.stderr.strip().splitlines()[-1]
    assert str(fifo) in last and ("named pipe" in last or "not found" in last), out.stderr
    assert "Traceback" not in out.stderr


def test_library_calls_refuse_a_fifo_without_blocking(fifo, tmp_path):
    with pytest.raises(ModelFileError, match="named pipe"):
        read_gguf_info(fifo)
    with pytest.raises(ModelFileError, match="named pipe"):
        check_model_file(fifo)
    with pytest.raises(ModelFileError, match="named pipe"):
        InstalledModels(tmp_path / "models").import_path(fifo)


def test_a_registered_model_swapped_for_a_fifo_verifies_as_missing(tmp_path):
    from tests.core.library.ggufgen import write_gptoss_like

    library = InstalledModels(tmp_path / "models")
    src = write_gptoss_like(tmp_path / "m.gguf")
    (model,) = library.import_path(src)
    target = Path(model.files[0])
    target.unlink()
    os.mkfifo(target)
    report = library.verify(model.name)
    assert not report.ok and "missing" in report.problems[0]
