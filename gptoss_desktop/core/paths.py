"""Where the app keeps its files.

Folders come from platformdirs. ``GPTOSS_HOME=DIR`` puts every folder the app writes under
DIR (portable installs, tests). Nothing is created until :meth:`AppPaths.ensure` is called.

Chats are private: the app's folders are 0700 and its files 0600 on POSIX systems.
:meth:`AppPaths.ensure` creates the folders so and tightens existing ones (and the files
directly in the data, config and logs folders); the entry points also call
:func:`use_private_umask` so everything created later (WAL/SHM files, exports, scratch
folders, settings) is private by default.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "gptoss-desktop"
HOME_ENV = "GPTOSS_HOME"
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def use_private_umask() -> None:
    """Files and folders this process creates from now on are readable by their owner only."""
    if os.name == "posix":
        os.umask(0o077)


def tighten(path: Path) -> None:
    """Take group and other permissions off ``path`` (never through a symbolic link)."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
            return
        if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
            os.chmod(path, stat.S_IMODE(st.st_mode) & ~0o077)


def write_private_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``, creating it 0600 (exports of chats and traces)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(text.encode("utf-8"))
    tighten(path)


@dataclass(frozen=True)
class AppPaths:
    data_dir: Path
    models_dir: Path
    config_dir: Path
    logs_dir: Path
    cache_dir: Path

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        root = Path(root).expanduser().resolve()
        return cls(
            data_dir=root / "data",
            models_dir=root / "models",
            config_dir=root / "config",
            logs_dir=root / "logs",
            cache_dir=root / "cache",
        )

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> AppPaths:
        env = os.environ if environ is None else environ
        home = env.get(HOME_ENV)
        if home:
            return cls.under(Path(home))
        import platformdirs

        dirs = platformdirs.PlatformDirs(APP_NAME, appauthor=False)
        data = Path(dirs.user_data_dir)
        return cls(
            data_dir=data,
            models_dir=data / "models",
            config_dir=Path(dirs.user_config_dir),
            logs_dir=Path(dirs.user_log_dir),
            cache_dir=Path(dirs.user_cache_dir),
        )

    def ensure(self) -> AppPaths:
        """Create the folders 0700; tighten existing ones and the files in data, config, logs."""
        for p in (self.data_dir, self.models_dir, self.config_dir, self.logs_dir, self.cache_dir):
            p.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
            tighten(p)
        for folder in (self.data_dir, self.config_dir, self.logs_dir):
            with contextlib.suppress(OSError), os.scandir(folder) as entries:
                for entry in entries:
                    tighten(Path(entry.path))
        return self

    @property
    def database(self) -> Path:
        return self.data_dir / "gptoss.sqlite3"
