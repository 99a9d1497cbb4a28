"""Issue 16 item 12: when llama.cpp's own libraries cannot load (a broken bundle, a CPU
without the instructions they were built for), the app says so; it does not call the
model file damaged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gptoss_desktop.core.engine.client import EngineClient, _backend_problem
from gptoss_desktop.core.errors import EngineError, ModelFileError
from tests.helpers import ROOT, project_model

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python for the worker")


def test_a_llama_cpp_library_that_cannot_load_is_not_called_a_damaged_model(tmp_path: Path):
    # What llama-cpp-python raises when its shared library (or one it links) cannot load.
    fake = tmp_path / "site" / "llama_cpp"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        "raise RuntimeError(\"Failed to load shared library '/app/_internal/llama_cpp/lib/"
        "libllama.so': libggml-cpu.so: cannot open shared object file: No such file or "
        'directory")\n'
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path / "site"), str(ROOT)]))
    with pytest.raises(EngineError) as caught:
        EngineClient.start(project_model("tiny-harmony.gguf"), env=env, load_timeout=60)
    assert not isinstance(caught.value, ModelFileError)
    message = caught.value.message
    assert "llama.cpp cannot run on this computer" in message
    assert "libggml-cpu.so" in message and "The model file is not the problem" in message
    assert "damaged" not in message


def test_llama_cpp_words_for_no_backend_are_recognised():
    assert _backend_problem(
        ["llama_model_load_from_file_impl: no backends are loaded. hint: use ggml_backend_load()"]
    )
    assert not _backend_problem(["llama_model_load: error loading model: tensor data is not"])
