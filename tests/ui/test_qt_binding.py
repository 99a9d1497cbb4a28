"""Guards against a broken Qt binding: PySide6 6.12.0 on Python 3.11 dropped a reference to
None on every Qt call that returns nothing, which killed the app after ~20,000 calls."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
before = sys.getrefcount(None)
for _ in range(50_000):
    label.setText("x")
print(sys.getrefcount(None) - before)
"""


def test_many_void_qt_calls_do_not_corrupt_reference_counts() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": ""},
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    assert abs(int(proc.stdout.strip())) < 100
