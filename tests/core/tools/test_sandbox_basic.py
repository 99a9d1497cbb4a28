"""The python sandbox as a notebook: state, output, errors, limits, reset, life cycle."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from gptoss_desktop.core.tools.sandbox.process import PythonSandbox
from tests.core.tools.conftest import TEST_LIMITS, require_sandbox_support


def test_state_persists_between_calls(sandbox: PythonSandbox) -> None:
    assert sandbox.run("total = 40\nimport math").error is None
    result = sandbox.run("total + 2")
    assert result.stdout == "42\n" and result.error is None
    assert sandbox.run("print(math.sqrt(16))").stdout == "4.0\n"


def test_last_expression_is_shown_but_none_is_not(sandbox: PythonSandbox) -> None:
    assert sandbox.run("[1, 2][0] + 1").stdout == "2\n"
    assert sandbox.run("None").stdout == ""
    assert sandbox.run("x = 3").stdout == ""


def test_stdout_stderr_and_exception_come_back_separately(sandbox: PythonSandbox) -> None:
    code = "import sys\nprint('out')\nprint('err', file=sys.stderr)\n{}['missing']"
    result = sandbox.run(code)
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"
    assert result.error is not None
    assert "KeyError: 'missing'" in result.error
    assert 'File "<cell' in result.error and "child.py" not in result.error


def test_syntax_error_is_reported(sandbox: PythonSandbox) -> None:
    result = sandbox.run("def broken(:\n  pass")
    assert result.error is not None and "SyntaxError" in result.error


def test_files_live_in_the_scratch_folder(sandbox: PythonSandbox) -> None:
    assert sandbox.info is not None
    result = sandbox.run("open('note.txt', 'w').write('from the sandbox')\nimport os\nos.getcwd()")
    assert result.error is None
    assert (sandbox.scratch / "note.txt").read_text() == "from the sandbox"
    if "mnt-data" in sandbox.info.layers:
        assert result.stdout.strip() == "'/mnt/data'"
        assert (
            sandbox.run("open('/mnt/data/note.txt').read()").stdout.strip() == "'from the sandbox'"
        )


def test_environment_is_clean(sandbox: PythonSandbox) -> None:
    result = sandbox.run("import os\nsorted(os.environ)")
    assert result.stdout.strip() == "['HOME', 'LC_ALL', 'PATH', 'PWD', 'TMPDIR']"


def test_threads_work_processes_do_not(sandbox: PythonSandbox) -> None:
    code = (
        "import threading\nseen = []\n"
        "t = threading.Thread(target=seen.append, args=(1,))\nt.start(); t.join()\nseen"
    )
    assert sandbox.run(code).stdout == "[1]\n"


def test_stdlib_imports_after_lockdown(sandbox: PythonSandbox) -> None:
    code = (
        "import json, decimal, fractions, statistics, datetime, re, collections, ctypes, sqlite3\n"
        "import zoneinfo, random, itertools, csv, hashlib\n"
        "print(statistics.mean([1, 2, 3]), fractions.Fraction(1, 3) * 3)"
    )
    result = sandbox.run(code)
    assert result.error is None, result.error
    assert result.stdout == "2 1\n"


def test_reset_forgets_state_keeps_files(sandbox: PythonSandbox) -> None:
    sandbox.run("forget_me = 1\nopen('kept.txt', 'w').write('k')")
    sandbox.reset()
    result = sandbox.run("forget_me")
    assert result.error is not None and "NameError" in result.error
    assert sandbox.run("open('kept.txt').read()").stdout == "'k'\n"


def test_layers_are_reported(sandbox: PythonSandbox) -> None:
    assert sandbox.info is not None
    for layer in ("rlimits", "no-capabilities", "landlock-fs", "seccomp"):
        assert layer in sandbox.info.layers


def test_wall_clock_timeout_kills_and_restarts(tmp_path: Path) -> None:
    require_sandbox_support()
    with PythonSandbox(tmp_path, replace(TEST_LIMITS, wall_s=1.5)) as box:
        box.run("before = 1")
        started = time.monotonic()
        result = box.run("import time\ntime.sleep(60)")
        assert time.monotonic() - started < 10
        assert result.timed_out and result.state_lost
        assert result.error is not None and "timed out after 1.5 s" in result.error
        after = box.run("print('fresh')")
        assert after.stdout == "fresh\n"
        assert "NameError" in (box.run("before").error or "")


def test_process_exit_and_crash_are_reported(sandbox: PythonSandbox) -> None:
    result = sandbox.run("import os\nos._exit(7)")
    assert result.state_lost and result.error is not None
    assert "exited with status 7" in result.error
    result = sandbox.run("import ctypes\nctypes.string_at(0)")
    assert result.state_lost and "SIGSEGV" in (result.error or "")
    assert sandbox.run("print(1)").stdout == "1\n"


def test_output_flood_stops_the_process(tmp_path: Path) -> None:
    require_sandbox_support()
    with PythonSandbox(tmp_path, replace(TEST_LIMITS, cpu_s=30.0)) as box:
        result = box.run("while True:\n    print('y' * 10000)")
        assert result.state_lost and result.truncated
        assert "printed more than" in (result.error or "")
        assert len(result.stdout) < TEST_LIMITS.output_bytes + 200


def test_close_ends_the_process(tmp_path: Path) -> None:
    require_sandbox_support()
    box = PythonSandbox(tmp_path, TEST_LIMITS)
    box.start()
    proc = box._proc
    assert proc is not None
    box.close()
    assert proc.poll() is not None
    assert not box.running


_ORPHAN_HELPER = """
import sys, time
from pathlib import Path
from gptoss_desktop.core.tools.sandbox.process import PythonSandbox
box = PythonSandbox(Path(sys.argv[1]))
box.start()
print(box._proc.pid, flush=True)
box.run("import time")
time.sleep(600)
"""


def test_sandbox_dies_with_the_app(tmp_path: Path) -> None:
    """If the app is killed, its sandbox does not live on."""
    require_sandbox_support()
    root = Path(__file__).resolve().parents[3]
    helper = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_HELPER, str(tmp_path)],
        stdout=subprocess.PIPE,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert helper.stdout is not None
    reaper = int(helper.stdout.readline())
    children = Path(f"/proc/{reaper}/task/{reaper}/children").read_text().split()
    assert len(children) == 1  # the process that runs the code
    os.kill(helper.pid, signal.SIGKILL)
    helper.wait()
    for pid in [reaper, int(children[0])]:
        deadline = time.monotonic() + 10
        while _alive(pid):
            if time.monotonic() > deadline:
                pytest.fail(f"sandbox process {pid} outlived the app")
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_per_call_overhead_is_small(sandbox: PythonSandbox) -> None:
    sandbox.run("pass")
    started = time.monotonic()
    for _ in range(50):
        sandbox.run("pass")
    per_call = (time.monotonic() - started) / 50
    assert per_call < 0.05, f"{per_call * 1000:.1f} ms per call"


def test_code_size_is_limited(sandbox: PythonSandbox) -> None:
    from gptoss_desktop.core.errors import ToolError

    with pytest.raises(ToolError, match="larger than"):
        sandbox.run("#" * (2 * 1024 * 1024))


def test_cancel_from_another_thread_stops_the_call(tmp_path: Path) -> None:
    require_sandbox_support()
    import threading

    with PythonSandbox(tmp_path, replace(TEST_LIMITS, wall_s=30.0)) as box:
        timer = threading.Timer(0.5, box.cancel)
        timer.start()
        started = time.monotonic()
        result = box.run("import time\ntime.sleep(25)")
        timer.join()
        assert time.monotonic() - started < 10
        assert result.state_lost and "stopped" in (result.error or "")
        assert box.run("print('again')").stdout == "again\n"


def test_filling_the_scratch_folder_is_stopped(tmp_path: Path) -> None:
    require_sandbox_support()
    limits = replace(TEST_LIMITS, scratch_bytes=8 * 1024 * 1024, cpu_s=20.0, wall_s=20.0)
    with PythonSandbox(tmp_path, limits) as box:
        code = (
            "import time\nblock = b'x' * (1024 * 1024)\n"
            "for i in range(1000):\n"
            "    open(f'fill-{i}.bin', 'wb').write(block)\n"
            "    time.sleep(0.01)\n"
        )
        result = box.run(code)
        assert result.state_lost and "wrote more than 8388608 bytes" in (result.error or "")
        written = sum(p.stat().st_size for p in tmp_path.glob("fill-*.bin"))
        assert written < 200 * 1024 * 1024


def test_forged_results_do_not_shift_later_answers(sandbox: PythonSandbox) -> None:
    """Code may write to the result pipe itself; the next call still gets its own answer."""
    forge = (
        "import os, json, struct\n"
        "for fd in range(3, 64):\n"
        "    try:\n"
        "        body = json.dumps({'cell': 999, 'ok': True, 'error': None}).encode()\n"
        "        os.write(fd, struct.pack('>I', len(body)) + body)\n"
        "    except OSError:\n"
        "        pass\n"
        "print('forged')"
    )
    assert sandbox.run(forge).stdout == "forged\n"
    assert sandbox.run("print('mine')").stdout == "mine\n"
    assert sandbox.run("print('next')").stdout == "next\n"
