"""kill -9 of the app in the middle of an answer: after a restart everything up to the last
second is there and the answer is marked interrupted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.ui.chat_app import STORY_GREEDY, assistant_widgets, make_window, story_model


def _read_log(log: Path) -> tuple[bool, list[tuple[float, str]]]:
    sent, pieces = False, []
    if log.exists():
        for line in log.read_text(encoding="utf-8").splitlines():
            if line == "SENT":
                sent = True
            elif "\t" in line:
                t, text = line.split("\t", 1)
                pieces.append((float(t), json.loads(text)))
    return sent, pieces


@pytest.mark.slow
def test_kill_9_mid_answer_loses_at_most_the_last_second(qtbot, tmp_path: Path) -> None:
    model = story_model()
    home, log = tmp_path / "home", tmp_path / "pieces.log"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ui.kill_driver", str(home), str(model), str(log)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its worker process goes with it when we kill the group
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _sent, pieces = _read_log(log)
            if pieces and pieces[-1][0] - pieces[0][0] >= 2.5:
                break
            assert proc.poll() is None, proc.stderr.read().decode(errors="replace")[-2000:]
            time.sleep(0.05)
        else:
            pytest.fail("the app did not stream for 2.5 s")
        killed_at = time.time()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        if _group_alive(proc.pid):  # the worker process, if it outlived the app
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()

    _sent, pieces = _read_log(log)
    produced = "".join(text for _t, text in pieces)
    must_have = "".join(text for t, text in pieces if t <= killed_at - 1.0)
    assert len(must_have) > 50

    # Restart: the real window on the same folder.
    w = make_window(qtbot, home)
    assert w.store.recovered_messages == 1
    assert w.banner.isVisible() and "interrupted" in w.banner.label.text()
    qtbot.waitUntil(lambda: w.sidebar.list.count() == 1)
    chat_id = w.store.conversations.list_live()[0].id
    with qtbot.waitSignal(w.chat.sig_conversation, timeout=10_000):
        w.chat.open(chat_id)
    answer = assistant_widgets(w)[-1]
    saved = answer.answer_text()
    assert saved.startswith(must_have)  # everything older than one second is there
    assert produced.startswith(saved)  # and nothing that was not produced
    assert saved.startswith(STORY_GREEDY)
    assert "Interrupted" in answer.status_label.text()
    row = w.store.messages.active_path(chat_id)[-1]
    assert row.status == "interrupted" and row.content == saved


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True
