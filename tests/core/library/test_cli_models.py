"""``gptoss-desktop models ...`` end to end (in-process; the kill tests run it as a process)."""

from __future__ import annotations

import json

import pytest

from gptoss_desktop.cli import main
from tests.core.library.conftest import FILE, REPO
from tests.core.library.ggufgen import write_gptoss_like


@pytest.fixture
def no_keychain(monkeypatch):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    monkeypatch.delenv("HF_TOKEN", raising=False)


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_list_json_has_catalog_installed_and_fit(gptoss_home, capsys):
    assert main(["models", "list", "--json"]) == 0
    out = _json(capsys)
    assert out["installed"] == []
    first = out["catalog"][0]
    assert first["repo"] == "ggml-org/gpt-oss-20b-GGUF" and first["installed"] is False
    assert first["fit"] in ("fits", "tight", "will_not_fit") and " GB" in first["fit_message"]
    assert out["memory"]["total_ram"] > 0


def test_info_json_on_a_gguf(tmp_path, capsys):
    path = write_gptoss_like(tmp_path / "m.gguf")
    assert main(["models", "info", str(path), "--json"]) == 0
    out = _json(capsys)
    assert (out["architecture"], out["quantization"], out["context_length"]) == (
        "gpt-oss",
        "MXFP4_MOE",
        131072,
    )
    assert out["harmony_tokens"] is True and out["chat_template"] is True
    assert out["kv_bytes_per_token"] == 49152 and out["fit"]["verdict"] in (
        "fits",
        "tight",
        "will_not_fit",
    )
    assert main(["models", "info", str(path)]) == 0
    assert "Harmony tokens: yes" in capsys.readouterr().out


def test_info_on_a_bad_file_is_one_line_and_exit_1(tmp_path, capsys):
    bad = tmp_path / "page.gguf"
    bad.write_text("<html>404</html>" * 4)
    assert main(["models", "info", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {bad}: not a GGUF file (wrong magic bytes)\n"


def test_import_verify_remove(gptoss_home, tmp_path, capsys):
    path = write_gptoss_like(tmp_path / "mine.gguf", n_layer=2)
    assert main(["models", "import", str(path), "--link"]) == 0
    assert capsys.readouterr().out.startswith("linked mine (")
    assert main(["models", "verify", "mine", "--json"]) == 0
    assert _json(capsys)["ok"] is True
    path.write_bytes(path.read_bytes()[:-1] + b"\x01")
    assert main(["models", "verify", "mine"]) == 1
    assert "mine: FAILED" in capsys.readouterr().err
    assert main(["models", "remove", "mine"]) == 0
    assert "its files were left in place" in capsys.readouterr().out
    assert path.exists()
    assert main(["models", "remove", "mine"]) == 1
    assert "no installed model named 'mine'" in capsys.readouterr().err


def test_verify_a_path_outside_the_library(gptoss_home, tmp_path, capsys):
    path = write_gptoss_like(tmp_path / "loose.gguf", n_layer=2)
    assert main(["models", "verify", str(path), "--json"]) == 0
    out = _json(capsys)
    assert out["registered"] is False and out["hash"].startswith("sha256:")


def test_download_shows_progress_and_installs(
    gptoss_home, hub_server, monkeypatch, capsys, no_keychain
):
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    assert main(["models", "download", REPO, FILE]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("installed tiny-gptoss (") and "sha256 verified" in captured.out
    assert captured.err.splitlines()[-1] == "done/done 2.2 MiB of 2.2 MiB (100.0%)"
    assert main(["models", "list", "--json"]) == 0
    (installed,) = _json(capsys)["installed"]
    assert installed["source"]["repo"] == REPO and installed["present"]


def test_download_of_a_gated_repo_says_to_add_a_token(
    gptoss_home, hub_server, monkeypatch, capsys, no_keychain
):
    monkeypatch.setenv("HF_ENDPOINT", hub_server.endpoint)
    assert main(["models", "download", "test-org/gated-GGUF", FILE]) == 1
    assert (
        capsys.readouterr()
        .err.splitlines()[-1]
        .startswith("error: test-org/gated-GGUF needs a Hugging Face token")
    )
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    assert main(["models", "download", "test-org/gated-GGUF", FILE]) == 0
