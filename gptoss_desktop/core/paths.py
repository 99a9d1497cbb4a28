"""Where the app keeps its files.

Folders come from platformdirs. ``GPTOSS_HOME=DIR`` puts every folder the app writes under
DIR (portable installs, tests). Nothing is created until :meth:`AppPaths.ensure` is called.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

APP_NAME = "gptoss-desktop"
HOME_ENV = "GPTOSS_HOME"


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
        for p in (self.data_dir, self.models_dir, self.config_dir, self.logs_dir, self.cache_dir):
            p.mkdir(parents=True, exist_ok=True)
        return self

    @property
    def database(self) -> Path:
        return self.data_dir / "gptoss.sqlite3"
