"""The store: everything the user makes, in one SQLite file.

>>> store = Store.open(AppPaths.from_env().ensure().database)   # doctest: +SKIP
>>> chat = store.conversations.create("Trip plans")             # doctest: +SKIP
>>> store.messages.append(chat.id, "user", "Hello")             # doctest: +SKIP
>>> store.search("hel")                                          # doctest: +SKIP

One :class:`Store` per process, built in app.py and passed to whoever needs it. It is
safe to call from any thread: one connection, serialized by one lock (see
:mod:`gptoss_desktop.core.store.database`). Opening it migrates the file to the latest
schema and marks messages and compare columns a crash left ``streaming`` as
``interrupted``.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from gptoss_desktop.core.paths import AppPaths
from gptoss_desktop.core.store.comparisons import ComparisonRepo
from gptoss_desktop.core.store.conversations import ConversationRepo
from gptoss_desktop.core.store.database import Database
from gptoss_desktop.core.store.messages import MessageRepo
from gptoss_desktop.core.store.records import SearchHit
from gptoss_desktop.core.store.search import search as _search
from gptoss_desktop.core.store.votes import VoteRepo


class Store:
    def __init__(self, db: Database, *, recover: bool = True) -> None:
        self.db = db
        self.conversations = ConversationRepo(db)
        self.messages = MessageRepo(db)
        self.comparisons = ComparisonRepo(db)
        self.votes = VoteRepo(db)
        self.recovered_messages = 0
        self.recovered_columns = 0
        if recover:
            self.recover_interrupted()

    @classmethod
    def open(cls, path: Path, *, recover: bool = True) -> Store:
        """Open (creating if needed) and migrate the database at ``path``.

        ``recover=False`` skips marking streaming rows interrupted: use it for a second,
        read-mostly connection while the app that owns the file is running.
        """
        return cls(Database(Path(path)), recover=recover)

    @classmethod
    def for_app(cls, paths: AppPaths) -> Store:
        """The app's database in its data folder (``paths.database``)."""
        return cls.open(paths.database)

    @property
    def path(self) -> Path:
        return self.db.path

    def recover_interrupted(self) -> tuple[int, int]:
        """Mark rows a crash left ``streaming`` as ``interrupted``: (messages, columns)."""
        self.recovered_messages = self.messages.recover_interrupted()
        self.recovered_columns = self.comparisons.recover_interrupted()
        return self.recovered_messages, self.recovered_columns

    def search(
        self, text: str, *, limit: int = 50, mark: tuple[str, str] = ("[", "]")
    ) -> list[SearchHit]:
        """Full-text search over chat titles and every message; never an FTS syntax error."""
        return _search(self.db, text, limit=limit, mark=mark)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
