"""``gptoss-desktop tool python|browser|check`` through the real command-line entry."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gptoss_desktop.cli import main
from tests.core.tools.conftest import require_sandbox_support


def test_tool_python_json(
    tmp_path: Path, gptoss_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_sandbox_support()
    script = tmp_path / "job.py"
    script.write_text(
        "import sys\nprint('out')\nprint('err', file=sys.stderr)\nraise ValueError('bad')\n"
    )
    assert main(["tool", "python", str(script), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert list(data) == ["stdout", "stderr", "error", "timed_out"]
    assert data["stdout"] == "out\n" and data["stderr"] == "err\n"
    assert data["error"].endswith("ValueError: bad") and data["timed_out"] is False
    assert list((gptoss_home / "cache").iterdir()) == []  # the temporary scratch is gone


def test_tool_python_plain_with_scratch_and_timeout(
    tmp_path: Path, gptoss_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_sandbox_support()
    script = tmp_path / "job.py"
    script.write_text("open('result.txt', 'w').write('kept')\nprint(2 + 2)\n")
    scratch = tmp_path / "scratch"
    assert main(["tool", "python", str(script), "--scratch", str(scratch)]) == 0
    assert capsys.readouterr().out == "4\n"
    assert (scratch / "result.txt").read_text() == "kept"
    script.write_text("import time\ntime.sleep(30)\n")
    assert main(["tool", "python", str(script), "--json", "--timeout", "1"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["timed_out"] is True and "timed out after 1 s" in data["error"]


def test_tool_python_missing_file(gptoss_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tool", "python", "no-such-file.py"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no-such-file.py: cannot read the file") and "Traceback" not in err


def test_tool_check(gptoss_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_sandbox_support()
    assert main(["tool", "check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["available"] is True and "seccomp" in data["layers"]


def test_tool_browser_session_across_runs(
    tmp_path: Path, gptoss_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "plums.md").write_text(
        "# Plums\n\nPlums ripen in late summer.\nDry them into prunes.\n"
    )
    (docs / "pears.txt").write_text("Pears keep well in a cool cellar.\n")
    base = ["tool", "browser", "--docs", str(docs)]
    assert main([*base, "--new", "search", "plums", "summer"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[0] plums summer\n") and "【0†Plums†plums.md】" in out
    assert main([*base, "open", "0", "--num-lines", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[1] Plums (plums.md)\n**viewing lines [0 - 2] of 3**")
    assert main([*base, "--json", "find", "prunes"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["cursor"] == 2 and "# 【0†match at L3】" in data["text"]
    assert main([*base, "open", "pears.txt"]) == 0
    assert "L0: Pears keep well in a cool cellar." in capsys.readouterr().out
    assert main([*base, "open", "7", "--cursor", "0"]) == 1
    assert capsys.readouterr().err == "error: Invalid link id `7`.\n"


def test_tool_browser_refuses_a_file_as_folder(
    tmp_path: Path, gptoss_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file.txt").write_text("x")
    assert main(["tool", "browser", "--docs", str(tmp_path / "file.txt"), "search", "x"]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_core_tools_never_import_qt() -> None:
    code = (
        "import sys, pkgutil, importlib, gptoss_desktop.core.tools as t\n"
        "for m in pkgutil.walk_packages(t.__path__, t.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.startswith('PySide6')))"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_tool_python_cpu_limit_is_timed_out(
    tmp_path: Path, gptoss_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An infinite loop stopped by the CPU limit is a timeout (issue #16, item 14)."""
    require_sandbox_support()
    script = tmp_path / "spin.py"
    script.write_text("while True:\n    pass\n")
    assert main(["tool", "python", str(script), "--json", "--cpu", "1"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["timed_out"] is True and "CPUTimeLimitExceeded" in data["error"]
