"""Screenshots of compare mode with two real story models (run from the checkout root):

    QT_QPA_PLATFORM=offscreen .venv/bin/python docs/screenshots/capture_compare.py

Needs ../shared/models (stories260K and TinyStories-656K-F16). Writes, at 1280x800,
compare-streaming.png (mid-stream, live metrics), compare-chart.png (after the turn) and
compare-blind.png; at 1024x700 compare-blind-1024x700.png.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gptoss_desktop.core.compare.engines import EnginePool  # noqa: E402
from gptoss_desktop.core.compare.runner import ColumnSetup, CompareSettings  # noqa: E402
from gptoss_desktop.core.engine import SamplingOptions  # noqa: E402
from gptoss_desktop.core.store.store import Store  # noqa: E402
from gptoss_desktop.ui.compare import CompareView  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SHARED = ROOT.parent / "shared" / "models"
PROMPT = "Once upon a time"


def wait_until(app: QApplication, predicate, timeout_s: float = 120.0) -> None:  # type: ignore[no-untyped-def]
    loop = QEventLoop()
    timer = QTimer()
    timer.timeout.connect(lambda: loop.quit() if predicate() else None)
    timer.start(20)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    timer.stop()


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv)
    models = [
        ColumnSetup(SHARED / "stories260K.gguf", label="stories260K"),
        ColumnSetup(SHARED / "TinyStories-656K-F16.gguf", label="TinyStories-656K"),
    ]
    settings = CompareSettings(
        sampling=SamplingOptions(temperature=0.8, seed=7), max_tokens=450, n_ctx=1024, n_threads=1
    )
    with (
        tempfile.TemporaryDirectory() as tmp,
        Store.open(Path(tmp) / "db.sqlite3") as store,
        EnginePool() as pool,
    ):
        view = CompareView(store, models, pool=pool, settings=settings)
        view.resize(1280, 800)
        view.show()
        view.columns[1].select_model(models[1])
        view.composer.setPlainText(PROMPT)
        view.start_comparison()
        wait_until(app, lambda: all(len(c.answer.toPlainText()) > 400 for c in view.columns))
        view.grab().save(str(OUT / "compare-streaming.png"))
        wait_until(app, lambda: view.run is not None and view.run.finished)
        wait_until(app, lambda: view.chart.isVisible(), 10)
        view.grab().save(str(OUT / "compare-chart.png"))
        view.blind_box.setChecked(True)
        view.start_comparison()
        wait_until(app, lambda: view.run is not None and view.run.finished)
        wait_until(app, lambda: view.vote_bar.isVisible(), 10)
        view.grab().save(str(OUT / "compare-blind.png"))
        view.resize(1024, 700)
        wait_until(app, lambda: False, 0.5)
        view.grab().save(str(OUT / "compare-blind-1024x700.png"))
        view.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
