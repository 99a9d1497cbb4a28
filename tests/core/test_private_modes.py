"""Issue #17 item 11: chats are private. Folders 0700, files 0600, read back from the disk."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from gptoss_desktop.core.paths import AppPaths, write_private_text
from gptoss_desktop.core.store.store import Store

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _folders(paths: AppPaths) -> list[Path]:
    return [paths.data_dir, paths.models_dir, paths.config_dir, paths.logs_dir, paths.cache_dir]


def _write_a_chat(store: Store) -> None:
    conv = store.conversations.create("private")
    store.messages.append(conv.id, role="user", content="secret")


def test_a_fresh_start_creates_private_folders_and_database(tmp_path):
    old = os.umask(0o022)  # a typical desktop umask: without our modes everything is 0755/0644
    try:
        paths = AppPaths.under(tmp_path / "home").ensure()
        store = Store.for_app(paths)
        try:
            _write_a_chat(store)
            db = paths.database
            assert Path(f"{db}-wal").exists()
            for f in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
                assert _mode(f) == 0o600, f
        finally:
            store.close()
    finally:
        os.umask(old)
    for d in _folders(paths):
        assert _mode(d) == 0o700, d


def test_existing_loose_folders_and_files_are_tightened(tmp_path):
    old = os.umask(0o022)
    try:
        paths = AppPaths.under(tmp_path / "home")
        for d in _folders(paths):
            d.mkdir(parents=True, mode=0o755)
            os.chmod(d, 0o755)
        store = Store.for_app(paths.ensure())
        _write_a_chat(store)
        store.close()
        db = paths.database
        settings = paths.config_dir / "settings.json"
        settings.write_text("{}")
        for f in (db, Path(f"{db}-wal"), Path(f"{db}-shm"), settings):
            if f.exists():
                os.chmod(f, 0o644)
        for d in _folders(paths):
            os.chmod(d, 0o755)
        paths.ensure()
        assert _mode(settings) == 0o600
        assert _mode(db) == 0o600
        store = Store.for_app(paths)
        _write_a_chat(store)
        for f in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert _mode(f) == 0o600, f
        store.close()
    finally:
        os.umask(old)
    for d in _folders(paths):
        assert _mode(d) == 0o700, d


def test_a_symlink_in_a_folder_is_not_followed_when_tightening(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("x")
    os.chmod(outside, 0o644)
    paths = AppPaths.under(tmp_path / "home").ensure()
    (paths.config_dir / "link").symlink_to(outside)
    paths.ensure()
    assert _mode(outside) == 0o644


def test_exports_are_private_by_default(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "chat.md"
        write_private_text(target, "# secret chat\n")
    finally:
        os.umask(old)
    assert _mode(target) == 0o600
    assert target.read_text() == "# secret chat\n"


def test_the_command_line_sets_a_private_umask(tmp_path):
    code = (
        "import os, sys\n"
        "from gptoss_desktop.cli import main\n"
        "main(['models', 'list', '--json'])\n"
        "os.mkdir(sys.argv[1] + '/made')\n"
        "open(sys.argv[1] + '/made.txt', 'w').close()\n"
        "sys.stderr.write(oct(os.umask(0)))\n"
    )
    env = dict(os.environ, GPTOSS_HOME=str(tmp_path / "home"))
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert out.stderr.strip().splitlines()[-1] == "0o77"
    assert _mode(tmp_path / "made") == 0o700
    assert _mode(tmp_path / "made.txt") == 0o600
