"""The installed-model registry: import by copy or link, verify again, remove."""

from __future__ import annotations

import shutil

import pytest

from gptoss_desktop.core.errors import LibraryError, ModelFileError
from gptoss_desktop.core.library import InstalledModels
from tests.core.library.ggufgen import write_gptoss_like, write_llama_like


@pytest.fixture
def user_dir(tmp_path):
    d = tmp_path / "my-models"
    d.mkdir()
    write_gptoss_like(d / "oss.gguf", n_layer=2)
    sub = d / "split"
    sub.mkdir()
    write_llama_like(sub / "llm-00001-of-00002.gguf")
    write_llama_like(sub / "llm-00002-of-00002.gguf", n_layer=1)
    (d / "notes.txt").write_text("not a model")
    return d


def test_copy_import_then_verify_and_remove(library: InstalledModels, user_dir):
    progress: list[tuple[int, int]] = []
    (model,) = library.import_path(
        user_dir / "oss.gguf", progress=lambda d, t: progress.append((d, t))
    )
    assert model.name == "oss" and not model.linked and model.present
    assert model.path.parent == library.models_dir / "imported" / "oss"
    assert model.path.read_bytes() == (user_dir / "oss.gguf").read_bytes()
    assert model.hashes["oss.gguf"].startswith("sha256:")
    assert progress[-1][0] == progress[-1][1] == model.size_bytes
    assert library.verify("oss").ok

    removed = library.remove("oss")
    assert not removed.path.exists() and not (library.models_dir / "imported").exists()
    assert (user_dir / "oss.gguf").exists()  # the user's own file is untouched
    assert library.list() == []


def test_link_import_leaves_files_in_place_and_remove_keeps_them(library, user_dir):
    (model,) = library.import_path(user_dir / "oss.gguf", link=True)
    assert model.linked and model.path == (user_dir / "oss.gguf").resolve()
    assert not (library.models_dir / "imported").exists()
    library.remove("oss")
    assert (user_dir / "oss.gguf").exists()


def test_folder_import_groups_shards_into_one_model(library, user_dir):
    models = library.import_path(user_dir, link=True)
    assert sorted(m.name for m in models) == ["llm", "oss"]
    llm = library.get("llm")
    assert [p.split("/")[-1] for p in llm.files] == [
        "llm-00001-of-00002.gguf",
        "llm-00002-of-00002.gguf",
    ]
    assert library.get(str(user_dir / "split" / "llm-00002-of-00002.gguf")).name == "llm"  # by path


def test_importing_one_shard_takes_its_siblings_or_says_what_is_missing(library, user_dir):
    (m,) = library.import_path(user_dir / "split" / "llm-00002-of-00002.gguf", link=True)
    assert len(m.files) == 2
    (user_dir / "split" / "llm-00002-of-00002.gguf").unlink()
    with pytest.raises(
        ModelFileError, match=r"is one shard of 2; missing llm-00002-of-00002\.gguf"
    ):
        library.import_path(user_dir / "split" / "llm-00001-of-00002.gguf")


def test_verify_finds_a_changed_byte(library, user_dir):
    (model,) = library.import_path(user_dir / "oss.gguf")
    data = bytearray(model.path.read_bytes())
    data[-10] ^= 1
    model.path.write_bytes(bytes(data))
    report = library.verify("oss")
    assert not report.ok and "content changed" in report.problems[0]
    model.path.unlink()
    assert library.verify("oss").problems == [f"{model.path} is missing"]
    assert not library.get("oss").present


def test_malformed_files_are_refused_before_copying(library, tmp_path):
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"<html>not found</html>" * 10)
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        library.import_path(bad)
    assert library.list() == [] and not (library.models_dir / "imported").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelFileError, match=r"holds no \.gguf model files"):
        library.import_path(empty, link=True)


def test_same_names_get_distinct_entries(library, user_dir, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(user_dir / "oss.gguf", other / "oss.gguf")
    library.import_path(user_dir / "oss.gguf", link=True)
    library.import_path(other / "oss.gguf", link=True)
    assert sorted(m.name for m in library.list()) == ["oss", "oss-local"]
    with pytest.raises(LibraryError, match="no installed model named 'nope'"):
        library.get("nope")
