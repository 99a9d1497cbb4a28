"""Runs the real app window in its own process and starts a long generation, for the
kill -9 test: ``python -m tests.ui.kill_driver HOME MODEL LOG``.

Every piece of text the turn produces is written to LOG as "<time>\\t<json text>" the
moment the app hands it to the store, so the test knows what existed at each instant.
Delivery is paced (a short sleep per piece) so that a tiny, very fast model streams for
several seconds: the worker, the store, the window and the writer are all the real ones.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

PACE_S = 0.04
PIECE_CHARS = 8


def main(home: str, model: str, log: str) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from tests.ui.chat_app import write_settings

    app = QApplication([])
    write_settings(Path(home))
    from gptoss_desktop.app import build_window
    from gptoss_desktop.core.paths import AppPaths
    from gptoss_desktop.resources import Resources

    window = build_window(
        AppPaths.under(Path(home)), resources=Resources(Path(home) / "none")
    ).window
    window.show()
    out = open(log, "a", encoding="utf-8")  # noqa: SIM115 (lives as long as the process)

    def loaded(path: str, state: str, _detail: str) -> None:
        if state != "loaded":
            return
        runner = window.engines.current.runner
        real_run = runner.run

        def paced_run(history, settings, emit):
            def logged(event):
                text = getattr(event, "text", None)
                if not text:
                    emit(event)
                    return
                # The worker sends text in batches; hand it on a few characters at a time
                # so the paced stream lasts long enough whatever the batch size.
                for start in range(0, len(text), PIECE_CHARS):
                    piece = text[start : start + PIECE_CHARS]
                    emit(replace(event, text=piece))
                    out.write(f"{time.time()}\t{json.dumps(piece)}\n")
                    out.flush()
                    time.sleep(PACE_S)

            return real_run(history, settings, logged)

        runner.run = paced_run
        settings = replace(window.chat.settings, temperature=0.0, max_tokens=None)
        window.chat.settings = settings
        window.composer.edit.setPlainText("Once upon a time")
        window.composer.submit()
        out.write("SENT\n")
        out.flush()

    window.engines.sig_state.connect(loaded)
    window.library.import_model(model)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
