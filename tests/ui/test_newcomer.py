"""Issue 16 (the app as a newcomer meets it): one test per item, on the real window."""

from __future__ import annotations

import json

import pytest

from tests.ui.chat_app import harmony_demo_model, load_model, make_window

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")


def picker_paths(w) -> list[str]:
    combo = w.model_picker.combo
    return [str(combo.itemData(i)) for i in range(combo.count())]


# --- item 4: one import path, one model list ------------------------------------------------------
def test_chat_screen_import_refuses_a_broken_gguf_and_keeps_the_working_model(qtbot, tmp_path):
    home = tmp_path / "home"
    w = make_window(qtbot, home)
    demo = harmony_demo_model()
    load_model(qtbot, w, demo)
    working = w.engines.current
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + (3).to_bytes(4, "little") + b"\xff" * 64)
    w.library.import_model(str(broken))
    qtbot.waitUntil(lambda: "broken.gguf" in w.banner.label.text(), timeout=10_000)
    assert w.banner.kind == "error"
    qtbot.wait(300)
    assert w.engines.current is working and working.client.alive and w.engines.loading is None
    assert str(broken) not in picker_paths(w)
    settings = json.loads((home / "config" / "settings.json").read_text())
    assert str(broken) not in json.dumps(settings)
    # the good import is under Models -> Installed, added where it is (no copy)
    installed = w.library.model_library.installed.list()
    assert [m.files for m in installed] == [[str(demo)]] and installed[0].linked
    mw = w.library.models_window()
    assert mw.installed_table.rowCount() == 1
    # compare never gets the broken file as a column
    w.library.show_compare()
    columns = [str(m.model_path) for m in w.compare_page.models]
    assert str(demo) in columns and str(broken) not in columns
    # and the buttons say which import is which
    assert w.sidebar.import_button.text() == "Import chat…"
    assert w.model_picker.import_button.text() == "Add model file…"


def test_a_model_that_fails_to_load_gives_the_working_one_back(qtbot, tmp_path):
    """A file with a sound header that llama.cpp still refuses: the previous model returns."""
    from tests.core.library.ggufgen import write_gptoss_like

    w = make_window(qtbot, tmp_path / "home")
    demo = harmony_demo_model()
    load_model(qtbot, w, demo)
    fake = write_gptoss_like(tmp_path / "header-only.gguf", n_layer=2)
    w.library.import_model(str(fake))
    qtbot.waitUntil(lambda: "header-only.gguf" in w.banner.label.text(), timeout=30_000)
    qtbot.waitUntil(
        lambda: w.engines.current is not None and w.engines.current.path == str(demo),
        timeout=30_000,
    )


# --- item 6: context honesty ---------------------------------------------------------------------
def test_context_says_the_demo_model_runs_at_its_training_length(qtbot, tmp_path):
    w = make_window(qtbot, tmp_path / "home")
    load_model(qtbot, w, harmony_demo_model())
    info = w.engines.current.info
    assert info.n_ctx_train == 1024 and info.n_ctx == 1024
    assert w.chat.settings.context_length == 8192  # what the chat asks for
    panel = w.settings_panel
    assert panel.context_note.isVisibleTo(w)
    assert "trained for at most 1,024 tokens" in panel.context_note.text()
    state = w.model_picker.state_label.full_text()
    assert "1,024-token context (its training length; 8,192 was asked)" in state
    # lengths the model cannot have are not offered
    model = panel.context.model()
    for i in range(panel.context.count()):
        assert model.item(i).isEnabled() == (int(panel.context.itemData(i)) <= 1024)
    # the context warning does not offer "Larger context"
    from gptoss_desktop.core.errors import ContextOverflow

    w.library.offer_context_choices(
        ContextOverflow("This chat needs 1,200 tokens.", needed=1200, available=1024)
    )
    keys = [b.objectName() for b in w.banner.findChildren(type(w.banner.details_button))]
    assert "banner-action-drop" in keys and "banner-action-larger" not in keys
    assert "trained for at most 1,024 tokens" in w.banner.label.text()
