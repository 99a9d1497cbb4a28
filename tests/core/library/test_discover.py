"""Discovery of models other apps keep (LM Studio, Hugging Face cache, Ollama) in a fake home."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gptoss_desktop.core.errors import LibraryError, ModelFileError
from gptoss_desktop.core.library import Hub, InstalledModels
from gptoss_desktop.core.library.discover import ScanLimits, discover, hf_hub_dir, ollama_dir
from gptoss_desktop.core.library.gguf_types import LLAMA_CPP_ARCHITECTURES
from tests.core.library.ggufgen import gguf
from tests.core.library.hubserver import HubServer, Repo
from tests.fakehome import FakeHome, make_fake_home


@pytest.fixture
def fake(tmp_path: Path) -> FakeHome:
    return make_fake_home(tmp_path)


def by_path(found: list) -> dict[str, object]:
    return {m.path: m for m in found}


def test_architecture_list_matches_the_gguf_package():
    assert set(gguf.MODEL_ARCH_NAMES.values()) - {"clip"} == LLAMA_CPP_ARCHITECTURES


def test_places_follow_home_hf_home_and_ollama_models(tmp_path: Path):
    env = {"HOME": str(tmp_path)}
    assert hf_hub_dir(env) == tmp_path / ".cache" / "huggingface" / "hub"
    assert ollama_dir(env) == tmp_path / ".ollama" / "models"
    env |= {"HF_HOME": "/x/hf", "OLLAMA_MODELS": "/y/o"}
    assert hf_hub_dir(env) == Path("/x/hf/hub")
    assert ollama_dir(env) == Path("/y/o")
    assert hf_hub_dir(env | {"HF_HUB_CACHE": "/z"}) == Path("/z")


def test_finds_each_layout_with_the_right_verdicts(fake: FakeHome):
    found = discover(fake.env)
    assert found.truncated is None
    m = by_path(found.models)
    lm = m[str(fake.lmstudio_gptoss)]
    assert (lm.source, lm.is_gpt_oss, lm.loadable, lm.architecture) == (
        "lmstudio",
        True,
        True,
        "gpt-oss",
    )
    assert lm.repo == "lmstudio-community/gpt-oss-20b-GGUF"
    assert lm.size_bytes == fake.lmstudio_gptoss.stat().st_size
    llama = m[str(fake.lmstudio_llama)]
    assert (llama.is_gpt_oss, llama.loadable, llama.architecture) == (False, True, "llama")
    broken = m[str(fake.lmstudio_broken)]
    assert not broken.loadable and "magic" in (broken.problem or "")
    hf = m[str(fake.hf_snapshot)]
    assert (hf.source, hf.is_gpt_oss, hf.loadable) == ("huggingface", True, True)
    assert (hf.repo, hf.repo_file, hf.sha256) == (
        "ggml-org/gpt-oss-20b-GGUF",
        "gpt-oss-20b-mxfp4.gguf",
        fake.hf_sha256,
    )
    assert hf.size_bytes == fake.hf_blob.stat().st_size
    foreign = m[str(fake.ollama_foreign)]
    assert foreign.label == "gpt-oss:20b" and foreign.is_gpt_oss and not foreign.loadable
    assert "llama.cpp cannot load" in (foreign.problem or "")
    good = m[str(fake.ollama_gptoss)]
    assert (good.label, good.loadable, good.sha256) == ("tiny-oss:latest", True, fake.ollama_sha256)
    # the template layer, the dangling link and the loop's second visit are not models
    assert len(found.models) == 6
    usable = {x.path for x in found.usable_gpt_oss}
    assert usable == {str(fake.lmstudio_gptoss), str(fake.hf_snapshot), str(fake.ollama_gptoss)}
    assert found.models[0].is_gpt_oss and found.models[0].loadable  # usable gpt-oss first


def test_scan_is_bounded(fake: FakeHome):
    cut = discover(fake.env, ScanLimits(max_entries=1))
    assert cut.truncated and "entries" in cut.truncated
    t0 = time.monotonic()
    late = discover(fake.env, ScanLimits(deadline_s=0.0))
    assert late.truncated and time.monotonic() - t0 < 1.0
    shallow = discover(fake.env, ScanLimits(max_depth=1), sources=("lmstudio",))
    assert shallow.models == []  # models sit three folders down


def test_nothing_there_is_no_error(tmp_path: Path):
    found = discover({"HOME": str(tmp_path / "nobody")})
    assert found.models == [] and all(not p["exists"] for p in found.places)


def test_add_reference_does_not_copy(fake: FakeHome, tmp_path: Path):
    lib = InstalledModels(tmp_path / "models")
    hf = by_path(discover(fake.env).models)[str(fake.hf_snapshot)]
    before = fake.hf_blob.stat()
    model = lib.add_reference(
        [Path(hf.path)],
        name=hf.label,
        source={"app": hf.source, "repo": hf.repo, "repo_file": hf.repo_file},
        hashes={fake.hf_snapshot.name: f"sha256:{hf.sha256}"},
    )
    assert model.linked and model.files == [str(fake.hf_snapshot)]
    assert os.stat(model.files[0]).st_ino == before.st_ino  # the same file, not a copy
    assert not (tmp_path / "models" / "imported").exists()
    assert lib.verify(model.name).ok  # the blob's own name is its sha256
    lib.remove(model.name)
    assert fake.hf_blob.stat().st_ino == before.st_ino  # the other app's file is left alone
    # the same checks as an import: Ollama's own format and broken files are refused
    for bad in (fake.ollama_foreign, fake.lmstudio_broken):
        with pytest.raises(ModelFileError):
            lib.add_reference([bad], name="bad", source={"app": "ollama"})
    with pytest.raises(ModelFileError):
        lib.import_path(fake.lmstudio_broken)
    assert lib.list() == []


def test_verify_with_hub_checks_the_hub_sha256(fake: FakeHome, tmp_path: Path, hub_online: None):
    lib = InstalledModels(tmp_path / "models")
    model = lib.add_reference(
        [fake.lmstudio_gptoss],
        name="gpt-oss-20b-MXFP4",
        source={"app": "lmstudio", "repo": "org/oss-GGUF", "repo_file": "gpt-oss-20b-MXFP4.gguf"},
    )
    good = fake.lmstudio_gptoss.read_bytes()
    with HubServer({"org/oss-GGUF": Repo({"gpt-oss-20b-MXFP4.gguf": good})}) as server:
        report = lib.verify_with_hub(model.name, Hub(server.endpoint, retries=1))
    assert report.ok and report.bytes_checked == len(good)
    assert lib.get(model.name).verified_at is not None
    changed = good[:-1] + bytes([good[-1] ^ 1])
    with HubServer({"org/oss-GGUF": Repo({"gpt-oss-20b-MXFP4.gguf": changed})}) as server:
        report = lib.verify_with_hub(model.name, Hub(server.endpoint, retries=1))
    assert not report.ok and "differs from org/oss-GGUF" in report.problems[0]
    ollama = lib.add_reference([fake.ollama_gptoss], name="tiny-oss:latest", source={})
    with pytest.raises(LibraryError, match="no Hugging Face repo"):
        lib.verify_with_hub(ollama.name, Hub("http://127.0.0.1:9", retries=1))


def test_cli_models_discover_json(fake: FakeHome, tmp_path: Path):
    env = {**os.environ, **fake.env, "GPTOSS_HOME": str(tmp_path / "app")}
    for key in ("HF_HUB_CACHE", "XDG_CACHE_HOME"):
        env.pop(key, None)
    out = subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", "models", "discover", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    rows = {m["path"]: m for m in data["models"]}
    row = rows[str(fake.ollama_foreign)]
    assert row["where_title"] == "Ollama" and row["loadable"] is False and row["problem"]
    assert rows[str(fake.hf_snapshot)]["architecture"] == "gpt-oss"
    assert rows[str(fake.hf_snapshot)]["is_gpt_oss"] is True
    assert {p["source"] for p in data["places"]} == {"lmstudio", "huggingface", "ollama"}
    text = subprocess.run(
        [sys.executable, "-m", "gptoss_desktop", "models", "discover"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert text.returncode == 0 and "tiny-oss:latest" in text.stdout
    assert "not loadable" in text.stdout
