"""Is the chat window responsive? Main-thread stalls, cost per token, start-up time.

Three measurements, all with the real window (offscreen Qt):

``max_stall_ms``
    The real app streams an answer from the fastest tiny model (stories260K, greedy, the
    whole 2,048-token context) through the real worker, store and view, sent one second
    after the model loaded (as a person would). A 2 ms timer on the
    main thread records the gaps between its ticks; the longest gap minus the interval is
    the longest time the event loop was blocked. Target: < 50 ms.
``token_cost_ratio_50k``
    Main-thread time to show one streamed token (the view's append plus the layout and paint
    it causes) with a 50,000-token transcript open, divided by the same with an empty chat.
    The stream is the real model's text, replayed through the same batches the timer applies;
    main-thread CPU time, after one unmeasured warm-up, medians of ``--rounds`` alternating
    runs. Target: <= 1.5 (the cost must not grow with the transcript).
``startup_ratio``
    Seconds from process start to a shown main window, against a bare PySide6 window started
    the same way in the same run (median of ``--starts``). Target: <= 3.
``min_window_width_px``, ``min_window_height_px``
    The main window's minimumSizeHint with chat settings and the tool panel open, tools
    enabled (a long function name in the panel's summary) and compare mode opened
    (tests/ui/layout_probe.py). Target: <= 1024 and <= 700.

    python bench/ui.py [--json] [--starts N] [--rounds N] [--model PATH] [--layout-only]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.common import ROOT, SHARED_MODELS, emit_json, median, print_table

MODEL = SHARED_MODELS / "stories260K.gguf"
TRANSCRIPT_TOKENS = 50_000
TOKENS_PER_FLUSH = 8  # what one 16 ms flush carries at ~500 tokens/s
FLUSHES = 150
#: A person does not send within a second of the window appearing; the app uses that
#: time to build (and drop) one turn of each kind so the first send is not the first build.
IDLE_BEFORE_SEND_S = 1.0


def _wait(app: Any, predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.001)


def _window(home: Path) -> Any:
    from gptoss_desktop.app import build_window
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.resources import Resources
    from tests.ui.chat_app import write_settings

    write_settings(home)
    window = build_window(AppPaths.under(home), resources=Resources(home / "none")).window
    window.resize(1200, 800)
    window.show()
    return window


def measure_stall(app: Any, model: Path) -> tuple[float, dict[str, Any]]:
    """Longest main-thread stall while the real app streams the fastest answer it can."""
    from dataclasses import replace

    from PySide6.QtCore import QTimer

    with tempfile.TemporaryDirectory() as tmp:
        w = _window(Path(tmp))
        w.library.import_model(str(model))
        _wait(app, lambda: w.engines.current is not None, 60)
        w.chat.settings = replace(w.chat.settings, temperature=0.0, max_tokens=None)
        idle_until = time.monotonic() + IDLE_BEFORE_SEND_S
        _wait(app, lambda: time.monotonic() > idle_until, 10)
        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(2)
        timer.timeout.connect(tick)
        done: list[Any] = []
        w.chat.sig_turn_finished.connect(done.append)
        w.composer.edit.setPlainText("Once upon a time")
        timer.start()
        last[0] = time.perf_counter()
        w.composer.submit()
        _wait(app, lambda: bool(done), 120)
        timer.stop()
        outcome = done[0]
        w.close()
        w.store.close()
    metrics = outcome.result.metrics if outcome.result else {}
    stall_ms = max(0.0, (max(gaps) - 0.002) * 1000) if gaps else float("nan")
    return stall_ms, metrics


def _story_text(model: Path) -> tuple[str, int]:
    """A long story from the real model, and how many tokens it is."""
    from gptoss_desktop.core.engine import (
        EngineClient,
        GenerateRequest,
        LoadOptions,
        SamplingOptions,
    )

    with EngineClient.start(model, LoadOptions(n_ctx=2048, n_threads=1)) as client:
        gen = client.generate(
            GenerateRequest(
                prompt_text="Once upon a time",
                max_tokens=2000,
                sampling=SamplingOptions(temperature=0.0),
            )
        )
        gen.wait()
        text = gen.text
        return text, len(client.tokenize(text))


def _token_chunks(text: str, n_tokens: int, count: int) -> list[str]:
    """Pieces of ``text`` of about TOKENS_PER_FLUSH tokens each (by the text's average)."""
    chars = max(1, round(len(text) / n_tokens * TOKENS_PER_FLUSH))
    out = []
    pos = 0
    while len(out) < count:
        piece = text[pos : pos + chars]
        if not piece:
            pos = 0
            continue
        out.append(piece)
        pos += chars
    return out


def measure_token_cost(app: Any, text: str, n_tokens: int, transcript_tokens: int) -> float:
    """Main-thread seconds per displayed token with ``transcript_tokens`` of chat open."""
    from gptoss_desktop.core.chat.recorder import RowDelta, RowStarted
    from gptoss_desktop.core.store.records import Message

    with tempfile.TemporaryDirectory() as tmp:
        w = _window(Path(tmp))
        store = w.store
        chat = store.conversations.create("bench")
        total = 0
        per_answer = text
        while total < transcript_tokens:
            store.messages.append(chat.id, "user", "Tell me a story.")
            store.messages.append(chat.id, "assistant", per_answer, channel="final")
            total += n_tokens + 5
        opened: list[Any] = []
        w.chat.sig_conversation.connect(opened.append)
        w.chat.open(chat.id)
        _wait(app, lambda: bool(opened), 300)
        view = w.chat_view
        for _ in range(20):
            app.processEvents()
        view.scroll_to_bottom()
        view.add_user("Tell me a story.")
        view.begin_assistant("bench")
        row = Message(
            id=10**9,
            conversation_id=chat.id,
            parent_id=None,
            turn_id="t",
            role="assistant",
            content="",
            channel="final",
        )
        view.apply([RowStarted(row)])
        app.processEvents()
        chunks = _token_chunks(text, n_tokens, FLUSHES)
        spent = 0.0
        for chunk in chunks:
            t0 = time.thread_time()  # main-thread CPU time: other processes do not count
            view.apply([RowDelta(row.id, chunk)])
            app.processEvents()  # the layout and the paint this flush causes
            spent += time.thread_time() - t0
        w.close()
        w.deleteLater()
        app.processEvents()
        store.close()
    return spent / (len(chunks) * TOKENS_PER_FLUSH)


_BARE = (
    "import time, sys\n"
    "from PySide6.QtWidgets import QApplication, QMainWindow\n"
    "app = QApplication([])\n"
    "w = QMainWindow(); w.resize(1200, 800); w.show(); app.processEvents()\n"
    "print('SHOWN', flush=True)\n"
)
_APP = (
    "import sys, tempfile, pathlib\n"
    "sys.path.insert(0, {root!r})\n"
    "from PySide6.QtWidgets import QApplication\n"
    "app = QApplication([])\n"
    "from gptoss_desktop.app import build_window\n"
    "from gptoss_desktop.core.paths import AppPaths\n"
    "from gptoss_desktop.resources import Resources\n"
    "home = pathlib.Path(tempfile.mkdtemp())\n"
    "(home / 'config').mkdir(parents=True)\n"
    "(home / 'config' / 'settings.json').write_text('{{\"first_run_done\": true}}')\n"
    "w = build_window(AppPaths.under(home), resources=Resources.locate()).window\n"
    "w.show(); app.processEvents()\n"
    "print('SHOWN', flush=True)\n"
    "w.close()\n"
)


def _start_seconds(code: str) -> float:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env, cwd=ROOT)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith(b"SHOWN"):
            seconds = time.perf_counter() - t0
            break
    else:
        raise RuntimeError("the window never showed")
    proc.wait(60)
    return seconds


def measure_startup(starts: int) -> tuple[float, float]:
    bare, full = [], []
    for _ in range(starts):
        bare.append(_start_seconds(_BARE))
        full.append(_start_seconds(_APP.format(root=str(ROOT))))
    return median(bare), median(full)


def measure_min_window(app: Any) -> tuple[int, int]:
    """Minimum width and height of the main window with every panel open."""
    from tests.ui.layout_probe import minimum_size, open_all_panels

    with tempfile.TemporaryDirectory() as tmp:
        w = _window(Path(tmp))
        open_all_panels(w, app.processEvents)
        size = minimum_size(w)
        w.close()
        app.processEvents()
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument(
        "--rounds",
        type=int,
        default=9,
        help="token-cost rounds (medians; 3 left the ratio swinging 1.2-1.7)",
    )
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument(
        "--layout-only", action="store_true", help="only the minimum window size (no model)"
    )
    args = parser.parse_args(argv)
    if args.layout_only:
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        width, height = measure_min_window(app)
        layout = {"min_window_width_px": width, "min_window_height_px": height}
        if args.json:
            emit_json(layout)
        else:
            print(f"minimum window size with every panel open: {width} x {height} px")
        return 0
    if not args.model.is_file():
        print(f"needs {args.model} (../shared/models beside the checkout)", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    stall_ms, stream = measure_stall(app, args.model)
    text, n_tokens = _story_text(args.model)
    measure_token_cost(app, text, n_tokens, 0)  # warm-up: Qt's first-use costs count in neither
    empties, fulls = [], []
    for _ in range(args.rounds):
        empties.append(measure_token_cost(app, text, n_tokens, 0))
        fulls.append(measure_token_cost(app, text, n_tokens, TRANSCRIPT_TOKENS))
    empty, full = median(empties), median(fulls)
    bare_s, app_s = measure_startup(args.starts)
    min_width, min_height = measure_min_window(app)
    result = {
        "min_window_width_px": min_width,
        "min_window_height_px": min_height,
        "max_stall_ms": round(stall_ms, 2),
        "token_cost_ratio_50k": round(full / empty, 3),
        "startup_ratio": round(app_s / bare_s, 3),
        "stream_tokens": stream.get("completion_tokens"),
        "stream_tokens_per_s": round(float(stream.get("tokens_per_s", 0.0)), 1),
        "token_cost_empty_us": round(empty * 1e6, 2),
        "token_cost_50k_us": round(full * 1e6, 2),
        "startup_bare_s": round(bare_s, 3),
        "startup_app_s": round(app_s, 3),
    }
    if args.json:
        emit_json(result)
    else:
        print_table(
            "Chat window responsiveness (offscreen)",
            ["measure", "value", "target"],
            [
                ["longest main-thread stall while streaming (ms)", result["max_stall_ms"], "< 50"],
                ["minimum window width, every panel open (px)", min_width, "<= 1024"],
                ["minimum window height, every panel open (px)", min_height, "<= 700"],
                [
                    "cost per token, 50k transcript / empty",
                    result["token_cost_ratio_50k"],
                    "<= 1.5",
                ],
                ["start to shown window, app / bare PySide6", result["startup_ratio"], "<= 3"],
            ],
        )
        print(
            f"  streamed {result['stream_tokens']} tokens at {result['stream_tokens_per_s']} tokens/s;"
            f" per token {result['token_cost_empty_us']} us empty, {result['token_cost_50k_us']} us at 50k;"
            f" start {result['startup_bare_s']} s bare, {result['startup_app_s']} s app"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
