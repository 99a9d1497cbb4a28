"""A real process streams into the store and is killed with SIGKILL.

After reopening, everything appended more than about a second before the kill is there,
the text is an exact prefix of what was sent (no torn writes), and the message is marked
interrupted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.store import Store
from tests.core.store.stream_child import chunk
from tests.core.store.support import committed
from tests.helpers import ROOT

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")

# The writer commits within 1 s of an append; allow for scheduling on a loaded machine.
FLUSH_S = 1.0
SLACK_S = 0.4
CHUNK_LEN = len(chunk(0))


def start_child(db_path: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.core.store.stream_child", str(db_path), mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().split()
    if first[:1] != ["id"]:
        proc.kill()
        pytest.fail(f"child did not start: {first} {proc.stderr.read() if proc.stderr else ''}")
    return proc, int(first[1])


def kill(proc: subprocess.Popen[str]) -> float:
    killed_at = time.time()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return killed_at


def test_kill_during_steady_stream_loses_at_most_the_last_second(db_path: Path) -> None:
    proc, message_id = start_child(db_path, "steady")
    assert proc.stdout is not None
    sent: dict[int, float] = {}  # chunk index -> time the child's append returned

    def read_lines() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            index, at = line.split()
            sent[int(index)] = float(at)

    reader = threading.Thread(target=read_lines, daemon=True)
    reader.start()
    # While it streams, watch what another connection sees: the oldest chunk not yet
    # committed must never be older than the flush interval (plus slack).
    worst_age = 0.0
    deadline = time.time() + 3.0
    while time.time() < deadline:
        time.sleep(0.03)
        now = time.time()
        content = committed(db_path, "SELECT content FROM messages WHERE id = ?", (message_id,))
        first_unsaved = len(str(content[0][0])) // CHUNK_LEN
        if first_unsaved in sent:
            worst_age = max(worst_age, now - sent[first_unsaved])
    killed_at = kill(proc)
    reader.join(timeout=10)

    assert len(sent) > 50, "the child streamed too little to test anything"
    assert worst_age <= FLUSH_S + SLACK_S, f"text waited {worst_age:.2f} s before being committed"
    with Store.open(db_path) as store:
        message = store.messages.get(message_id)
        assert store.recovered_messages == 1
    assert message.status == "interrupted"
    expected_all = "".join(chunk(i) for i in sorted(sent))
    assert expected_all.startswith(message.content), "saved text is not a prefix of what was sent"
    saved_chunks = len(message.content) // CHUNK_LEN
    assert len(message.content) == saved_chunks * CHUNK_LEN, "a chunk was torn"
    must_have = [i for i, at in sent.items() if at <= killed_at - FLUSH_S - SLACK_S]
    assert saved_chunks > max(must_have), (
        f"lost chunks sent more than {FLUSH_S + SLACK_S} s before the kill: saved "
        f"{saved_chunks}, needed {max(must_have) + 1}"
    )


def test_kill_after_stall_keeps_text_the_timer_saved(db_path: Path) -> None:
    proc, message_id = start_child(db_path, "stall")
    assert proc.stdout is not None
    proc.stdout.readline()  # both chunks appended; the second is only in the buffer
    time.sleep(FLUSH_S + SLACK_S)
    kill(proc)
    with Store.open(db_path) as store:
        message = store.messages.get(message_id)
    assert message.content == chunk(0) + chunk(1)
    assert message.status == "interrupted"
