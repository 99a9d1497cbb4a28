"""The full-size path in the window: load progress, cancel of a load, the experts slider.

Uses the 2-layer stand-in of gpt-oss-20B (same width and vocabulary, ~2.1 GB; made by
bench/standin.py into its git-ignored cache): its load takes seconds, long enough to watch.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ui.chat_app import make_window


@pytest.fixture(scope="module")
def standin_small() -> Path:
    from bench import standin
    from tests.helpers import SHARED

    shape = standin.StandinShape(n_layer=2)
    if (
        not standin.standin_path(shape).is_file()
        and not (SHARED / "reference" / "o200k" / "o200k_base.tiktoken").is_file()
    ):
        pytest.skip("needs ../shared/reference/o200k/o200k_base.tiktoken for the real tokenizer")
    return standin.ensure_standin(shape)


def test_load_shows_progress_can_be_cancelled_and_plans_expert_offload(
    qtbot, tmp_path: Path, standin_small: Path
) -> None:
    w = make_window(qtbot, tmp_path / "home", n_threads=2)
    picker = w.model_picker
    progress: list[float] = []
    w.engines.sig_progress.connect(lambda _p, f: progress.append(f))

    # Cancel: the Load button turns into Cancel while loading, and a click stops the load.
    w.library.import_model(str(standin_small))
    qtbot.waitUntil(lambda: bool(progress), timeout=30_000)
    assert picker.load_button.text() == "Cancel" and picker.load_button.isEnabled()
    assert picker.state_label.text().startswith("Loading… ")
    picker.load_button.click()
    qtbot.waitUntil(lambda: w.engines.loading is None, timeout=30_000)
    assert w.engines.current is None and picker.state_label.text() == "Not loaded"
    assert progress[-1] < 1.0

    # Load to the end: progress reaches 100% and the experts slider shows the estimate.
    progress.clear()
    picker.load_button.click()
    qtbot.waitUntil(lambda: w.engines.current is not None, timeout=60_000)
    assert progress[-1] == 1.0 and progress == sorted(progress)
    from gptoss_desktop.core.library.fit import GiB, cpu_moe_split

    shape, n_ctx = w.engines.current.shape, w.engines.current.info.n_ctx
    slider, label = w.settings_panel.cpu_moe, w.settings_panel.cpu_moe_label
    assert slider.isEnabled() and slider.maximum() == 2 and slider.value() == 0
    for n in (0, 1, 2):
        slider.setValue(n)
        gpu, ram = cpu_moe_split(shape, n_ctx, n)
        assert label.text().startswith(
            f"{n} of 2 layers in RAM: GPU {gpu / GiB:.1f} GiB, RAM {ram / GiB:.1f} GiB"
        )
    # each layer moves its experts (gate, up, down: 0.4 GiB in gpt-oss-20B's shape) to RAM
    assert cpu_moe_split(shape, n_ctx, 0)[0] - cpu_moe_split(shape, n_ctx, 1)[0] == (
        shape.expert_bytes // 2
    )
    slider.setValue(1)
    assert w.engines.n_cpu_moe == 1  # the next load keeps layer 0's experts in RAM
    qtbot.waitUntil(lambda: w.app_settings.n_cpu_moe == 1)

    # Compare mode: the slider's setting reaches the columns' settings (0: the plan decides).
    w.library.show_compare()
    page = w.library.compare_page
    assert page.shared_settings().n_cpu_moe == 1
    slider.setValue(2)
    assert page.shared_settings().n_cpu_moe == 2
    slider.setValue(0)
    assert page.shared_settings().n_cpu_moe is None
