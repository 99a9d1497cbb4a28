"""Issue #17 item 1: file names from a hub are untrusted; downloads never write outside.

Every test runs a real download through the loopback hub and then looks at the disk: the
marker or target outside the repository's folder is absent or byte-for-byte unchanged.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from gptoss_desktop.cli import main
from gptoss_desktop.core.library import DownloadQueue, Hub, InstalledModels
from gptoss_desktop.core.library.safepath import UnsafeFileName, check_remote_name
from tests.core.library.conftest import FILE, REPO
from tests.core.library.hubserver import HubServer, Repo

EVIL = "test-org/evil-GGUF"


@pytest.fixture(autouse=True)
def no_keychain(monkeypatch):
    monkeypatch.setattr("gptoss_desktop.core.library.TokenStore.get", lambda self: None)


def _files_under(root: Path) -> set[str]:
    return {str(Path(d, f).relative_to(root)) for d, _, files in os.walk(root) for f in files} | {
        str(Path(d, x).relative_to(root)) for d, dirs, _ in os.walk(root) for x in dirs
    }


@pytest.mark.parametrize(
    "name",
    [
        "../x.gguf",
        "a/../../x.gguf",
        "/etc/x.gguf",
        "C:/x.gguf",
        "c:x.gguf",
        "sub\\x.gguf",
        "sub//x.gguf",
        "./x.gguf",
        "",
        "x.gguf\n",
        "x\x1b]52;c;aGk=\x07.gguf",
        "CON",
        "nul.gguf",
        "sub/com1.txt",
        "Lpt9",
        "x.gguf.",
        "x.gguf ",
        "dir./x.gguf",
        "x?.gguf",
    ],
)
def test_unsafe_names_are_refused(name):
    with pytest.raises(UnsafeFileName, match="refusing the file name"):
        check_remote_name(name)


@pytest.mark.parametrize(
    "name", ["model.gguf", "q4/model.gguf", "a/b/c-00001-of-00002.gguf", "README.md", "x..y.gguf"]
)
def test_real_hub_names_are_accepted(name):
    assert str(check_remote_name(name)) == name


@pytest.fixture
def evil_hub(model_bytes, hub_online, tmp_path):
    abs_target = tmp_path / "abs.gguf"
    files = {
        "../../../../../x.gguf": model_bytes,
        str(abs_target): model_bytes,
        f"sub/../../tiny-GGUF/{FILE}": b"evil bytes",
        "q4/model.gguf": model_bytes,
        FILE: model_bytes,
    }
    repos = {REPO: Repo({FILE: model_bytes}), EVIL: Repo(files)}
    with HubServer(repos) as server:
        yield server


def _download(name: str, capsys) -> tuple[int, str]:
    rc = main(["models", "download", EVIL, name])
    return rc, capsys.readouterr().err


def test_hostile_names_write_nothing_outside(gptoss_home, evil_hub, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", evil_hub.endpoint)
    assert main(["models", "download", REPO, FILE]) == 0
    capsys.readouterr()
    victim = gptoss_home / "models" / "hf" / "test-org" / "tiny-GGUF" / FILE
    before = hashlib.sha256(victim.read_bytes()).hexdigest()
    outside_before = _files_under(tmp_path) - _files_under(gptoss_home)
    for name in (
        "../../../../../x.gguf",
        str(tmp_path / "abs.gguf"),
        f"sub/../../tiny-GGUF/{FILE}",
    ):
        rc, err = _download(name, capsys)
        assert rc == 1
        assert err.splitlines()[-1].startswith("error: refusing the file name"), err
    assert not (tmp_path / "x.gguf").exists()
    assert not (tmp_path / "abs.gguf").exists()
    assert _files_under(tmp_path) - _files_under(gptoss_home) == outside_before
    assert hashlib.sha256(victim.read_bytes()).hexdigest() == before
    assert not (gptoss_home / "models" / "hf" / "test-org" / "evil-GGUF").exists()
    # no request for a hostile name ever reached the server's file endpoint
    assert not [p for _, p, _ in evil_hub.stats.requests if "/resolve/" in p and "evil" in p]


def test_hostile_names_are_not_offered_from_a_listing(evil_hub):
    entries = Hub(evil_hub.endpoint, retries=0).list_repo_models(EVIL)
    assert sorted(f for e in entries for f in e.files) == sorted([FILE, "q4/model.gguf"])


def test_real_layout_with_subfolders_still_downloads(gptoss_home, evil_hub, monkeypatch, capsys):
    monkeypatch.setenv("HF_ENDPOINT", evil_hub.endpoint)
    assert main(["models", "download", EVIL, "q4/model.gguf"]) == 0
    dest = gptoss_home / "models" / "hf" / "test-org" / "evil-GGUF" / "q4" / "model.gguf"
    assert dest.read_bytes() == evil_hub.repos[EVIL].files["q4/model.gguf"]
    assert os.stat(dest.parent).st_mode & 0o777 == 0o700


def _queue(hub_server: HubServer, library: InstalledModels) -> DownloadQueue:
    return DownloadQueue(Hub(hub_server.endpoint, retries=0), library, token=lambda: None)


def test_a_symlinked_repo_folder_is_not_followed(evil_hub, tmp_path):
    library = InstalledModels(tmp_path / "models")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "models" / "hf" / "test-org").mkdir(parents=True)
    (tmp_path / "models" / "hf" / "test-org" / "evil-GGUF").symlink_to(outside)
    q = _queue(evil_hub, library)
    try:
        snap = q.wait(q.add(EVIL, "q4/model.gguf").id)
    finally:
        q.shutdown()
    assert snap.state == "failed"
    assert "symbolic link" in snap.error
    assert list(outside.iterdir()) == []


def test_a_symlinked_model_file_is_not_written_through(evil_hub, tmp_path):
    library = InstalledModels(tmp_path / "models")
    marker = tmp_path / "marker.txt"
    marker.write_bytes(b"do not touch")
    folder = tmp_path / "models" / "hf" / "test-org" / "evil-GGUF"
    folder.mkdir(parents=True)
    (folder / FILE).symlink_to(marker)
    q = _queue(evil_hub, library)
    try:
        snap = q.wait(q.add(EVIL, FILE).id)
    finally:
        q.shutdown()
    assert snap.state == "failed" and "symbolic link" in snap.error
    assert marker.read_bytes() == b"do not touch"


def test_a_symlinked_partial_file_is_not_written_through(evil_hub, tmp_path):
    library = InstalledModels(tmp_path / "models")
    marker = tmp_path / "marker.txt"
    marker.write_bytes(b"do not touch")
    library.partial_dir.mkdir(parents=True)
    from gptoss_desktop.core.library.download import partial_paths
    from gptoss_desktop.core.library.hub import RemoteFile

    key = RemoteFile(EVIL, FILE, "", 0, None, None, "").key
    partial, state = partial_paths(library.partial_dir, key)
    partial.symlink_to(marker)
    state.symlink_to(marker)
    q = _queue(evil_hub, library)
    try:
        snap = q.wait(q.add(EVIL, FILE).id)
    finally:
        q.shutdown()
    assert marker.read_bytes() == b"do not touch"
    assert snap.state == "done", snap.error


def test_a_symlinked_partial_folder_is_refused(evil_hub, tmp_path):
    library = InstalledModels(tmp_path / "models")
    outside = tmp_path / "outside"
    outside.mkdir()
    library.models_dir.mkdir(parents=True)
    library.partial_dir.symlink_to(outside)
    q = _queue(evil_hub, library)
    try:
        snap = q.wait(q.add(EVIL, FILE).id)
    finally:
        q.shutdown()
    assert snap.state == "failed" and "symbolic link" in snap.error
    assert list(outside.iterdir()) == []


def test_a_symlinked_quarantine_folder_is_not_written_through(evil_hub, tmp_path):
    library = InstalledModels(tmp_path / "models")
    outside = tmp_path / "outside"
    outside.mkdir()
    library.models_dir.mkdir(parents=True)
    library.quarantine_dir.symlink_to(outside)
    evil_hub.faults.corrupt_at = 100  # the checksum fails: the bytes would go to quarantine
    q = _queue(evil_hub, library)
    try:
        snap = q.wait(q.add(EVIL, FILE).id)
    finally:
        q.shutdown()
    assert snap.state == "failed" and "symbolic link" in snap.error
    assert list(outside.iterdir()) == []
