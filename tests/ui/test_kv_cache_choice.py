"""The KV cache choice in the settings: saved with the app settings, given to the next load.

A real worker loads the 2-layer stand-in of gpt-oss-20B (its 64-wide heads hold q8_0 blocks;
made by bench/standin.py into its git-ignored cache); llama.cpp's own KV buffer sizes show
which cache type it allocated. The tiny model's 16-wide heads cannot: a clear error says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import project_model
from tests.ui.chat_app import make_window

TOLERANCE = 4 * 0.005 * 2**20  # llama.cpp prints each buffer in MiB with 2 decimals


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


def _kv_bytes(window) -> int:
    info = window.engines.current.info
    return sum(v for k, v in info.buffers.items() if k.endswith(" KV"))


def _load(qtbot, window, path: Path, n_ctx: int) -> None:
    window.engines.load(str(path), n_ctx)
    qtbot.waitUntil(lambda: window.engines.loading is None, timeout=60_000)
    assert window.engines.current is not None, window.banner.label.text()


def test_compact_kv_cache_is_saved_and_reaches_the_loaded_worker(
    qtbot, tmp_path: Path, standin_small: Path
) -> None:
    from gptoss_desktop.core.library.fit import ModelShape
    from gptoss_desktop.core.library.gguf_info import read_gguf_info

    shape = ModelShape.from_gguf(read_gguf_info(standin_small))
    n_ctx = 65536  # long enough for the KV cache to show in the GiB figures
    full, small = shape.kv_bytes(n_ctx), shape.kv_bytes(n_ctx, kv_cache_type="q8_0")
    home = tmp_path / "home"
    w = make_window(qtbot, home, n_threads=2)
    panel = w.settings_panel
    assert panel.kv_cache_type() == "f16" and w.engines.kv_cache_type == "f16"
    assert [panel.kv_cache.itemText(i) for i in range(2)] == [
        "full precision (f16)",
        "compact (q8_0)",
    ]

    # Full precision first: llama.cpp allocates the f16 cache the estimate names.
    _load(qtbot, w, standin_small, n_ctx)
    assert abs(_kv_bytes(w) - full) <= TOLERANCE
    assert panel.kv_cache_note.text().startswith("Full quality; compact (q8_0) takes about half")

    # Compact: the note says what it costs, the estimate follows, the choice is saved, and
    # the next load allocates the q8_0 cache.
    from gptoss_desktop.core.library.fit import GiB, cpu_moe_split

    gpu_full = cpu_moe_split(shape, n_ctx, 0)[0]
    gpu_small = cpu_moe_split(shape, n_ctx, 0, kv_cache_type="q8_0")[0]
    assert f"{gpu_small / GiB:.1f}" != f"{gpu_full / GiB:.1f}"
    assert panel.cpu_moe_label.text().startswith(f"0 of 2 layers in RAM: GPU {gpu_full / GiB:.1f}")
    panel.kv_cache.setCurrentIndex(panel.kv_cache.findData("q8_0"))
    note = panel.kv_cache_note.text()
    assert note.startswith("About half the KV memory, slightly lower quality: ")
    assert f"at {n_ctx:,} tokens; applies at the next load" in note
    # the estimate counts the smaller cache
    assert panel.cpu_moe_label.text().startswith(f"0 of 2 layers in RAM: GPU {gpu_small / GiB:.1f}")
    assert w.engines.kv_cache_type == "q8_0"
    qtbot.waitUntil(lambda: w.app_settings.kv_cache_type == "q8_0")
    saved = home / "config" / "settings.json"
    qtbot.waitUntil(lambda: json.loads(saved.read_text()).get("kv_cache_type") == "q8_0")
    _load(qtbot, w, standin_small, n_ctx)
    kv = _kv_bytes(w)
    assert abs(kv - small) <= TOLERANCE and kv < full * 0.6

    # A new window on the same home shows the saved choice and loads with it.
    w.close()
    w2 = make_window(qtbot, home)
    assert w2.settings_panel.kv_cache_type() == "q8_0" and w2.engines.kv_cache_type == "q8_0"


def test_compact_kv_cache_on_heads_too_small_for_it_says_what_to_choose(
    qtbot, tmp_path: Path
) -> None:
    w = make_window(qtbot, tmp_path / "home", n_threads=1, kv_cache_type="q8_0")
    w.engines.load(str(project_model("tiny-gptoss-random.gguf")), 1024)
    qtbot.waitUntil(lambda: w.engines.loading is None, timeout=30_000)
    assert w.engines.current is None
    qtbot.waitUntil(lambda: w.banner.isVisible())
    text = w.banner.label.text()
    assert "too small for the compact (q8_0) KV cache" in text
    assert "choose the full-precision (f16) KV cache" in text
